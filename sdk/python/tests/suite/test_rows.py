# Each test writes the same row into a table of its own making: they pass
# with a copy each and conflict on one shared database.
import os

import psycopg
import pytest


def write_probe(url):
    with psycopg.connect(url) as conn:
        conn.execute("create table ditto_probe (id int primary key, owner text)")
        conn.execute("insert into ditto_probe values (1, current_user)")
        return conn.execute("select count(*) from customer").fetchone()[0]


def test_first(ditto_url):
    assert write_probe(ditto_url) > 0


def test_second(ditto_url):
    assert write_probe(ditto_url) > 0


@pytest.mark.ditto(labels={"suite": "rows"}, ttl="10m")
def test_labels(ditto_copy, ditto_client):
    (mine,) = [c for c in ditto_client.list() if c["id"] == ditto_copy.id]
    assert mine["labels"]["test"].endswith("test_rows.py::test_labels")
    assert mine["labels"]["suite"] == "rows"
    assert "database_url" not in mine  # a list never carries passwords


def test_fails_on_purpose(ditto_url):
    if os.environ.get("DITTO_TEST_FAIL") != "1":
        pytest.skip("only when the end-to-end test asks for a failure")
    with psycopg.connect(ditto_url) as conn:
        conn.execute("create table kept_for_inspection (id int)")
    assert False, "failing on purpose"
