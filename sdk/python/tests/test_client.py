# Unit tests of the client that need no daemon.
import pytest

from pytest_ditto.client import Client, DittoError, ci_labels, label_value


def test_ci_labels():
    env = {"GITHUB_RUN_ID": "42", "GITHUB_JOB": "test", "GITHUB_REPOSITORY": "acme/app"}
    assert ci_labels(env) == {"ci.provider": "github", "ci.run_id": "42", "ci.job": "test", "ci.repository": "acme/app"}
    assert ci_labels({"CI_PIPELINE_ID": "7", "CI_JOB_ID": "9"}) == {"ci.provider": "gitlab", "ci.pipeline_id": "7", "ci.job_id": "9"}
    assert ci_labels({}) == {}


def test_label_value():
    assert label_value("a\nb") == "a b"
    assert len(label_value("é" * 300).encode()) <= 256


def test_bad_server():
    with pytest.raises(ValueError, match="unix:///PATH"):
        Client(server="http://example.com")


def test_no_daemon(tmp_path):
    with pytest.raises(DittoError) as e:
        Client(server=f"unix://{tmp_path}/none.sock").list()
    assert e.value.code == "unavailable"
    assert "no ditto daemon listens on" in str(e.value)
    assert "hint:" in str(e.value)
