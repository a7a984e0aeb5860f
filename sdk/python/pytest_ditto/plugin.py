"""pytest plugin: a throw-away PostgreSQL copy per test from the ditto daemon.

Fixtures:
  ditto_url          the DATABASE_URL of a copy made for this test alone
  ditto_copy         the same copy as a pytest_ditto.Copy (id, database_url)
  ditto_module_url   one copy shared by the tests of a module
  ditto_session_url  one copy shared by the whole run
  ditto_client       the session's pytest_ditto.Client

A copy is held by the test process: it goes when its scope ends, and also
when pytest dies (even by kill -9). Options (or ini keys ditto_ttl,
ditto_keep_on_failure, ditto_missing): --ditto-ttl, --ditto-keep-on-failure,
--ditto-missing=fail|skip. The marker @pytest.mark.ditto(ttl=..., labels={...},
settings=[...], durable=True) sets a test's own copy's options.
"""

import pytest

from .client import Client, DittoError, ci_labels, label_value

_failed_key = pytest.StashKey[bool]()
_failures_key = pytest.StashKey[int]()


def pytest_addoption(parser):
    group = parser.getgroup("ditto", "throw-away PostgreSQL copies from the ditto daemon")
    group.addoption("--ditto-ttl", help="TTL of each copy, after which ditto removes it even if kept (default 1h)")
    group.addoption("--ditto-keep-on-failure", action="store_true", default=None,
                    help="keep the copy of a failed test (until its TTL) and print its ID")
    group.addoption("--ditto-missing", choices=("fail", "skip"),
                    help="what a test that needs a copy does when no daemon is reachable (default fail)")
    parser.addini("ditto_ttl", "TTL of each copy", default="1h")
    parser.addini("ditto_keep_on_failure", "keep the copy of a failed test", type="bool", default=False)
    parser.addini("ditto_missing", "fail or skip when no daemon is reachable", default="fail")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ditto(ttl=None, labels=None, settings=None, durable=False): options of the test's ditto copy")


def _option(config, name):
    value = config.getoption("ditto_" + name)
    return config.getini("ditto_" + name) if value is None else value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if outcome.get_result().failed:
        item.stash[_failed_key] = True
        item.session.stash[_failures_key] = item.session.stash.get(_failures_key, 0) + 1


@pytest.fixture(scope="session")
def ditto_client():
    return Client()


def _hold(request, client, name, **options):
    """Holds a copy for the fixture's scope; it is destroyed at its end, or
    kept when a test of that scope failed and the user asked to keep it."""
    config = request.config
    labels = {"test": label_value(name), **ci_labels(), **(options.pop("labels", None) or {})}
    try:
        copy = client.hold(ttl=options.pop("ttl", None) or _option(config, "ttl"), labels=labels, **options)
    except DittoError as e:
        if e.code == "unavailable" and _option(config, "missing") == "skip":
            pytest.skip(str(e))
        pytest.fail(f"ditto: {e}", pytrace=False)
    failures_before = request.session.stash.get(_failures_key, 0)
    yield copy
    if request.scope == "function":
        failed = request.node.stash.get(_failed_key, False)
    else:
        failed = request.session.stash.get(_failures_key, 0) > failures_before
    keep = failed and _option(config, "keep_on_failure")
    copy.release(keep=keep)
    if keep:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        msg = f"ditto: kept copy {copy.id} of failed {name}: `ditto copy get {copy.id}` prints its URL; `ditto copy destroy {copy.id}` removes it"
        if reporter:
            reporter.write_line(msg)


@pytest.fixture
def ditto_copy(request, ditto_client):
    marker = request.node.get_closest_marker("ditto")
    options = dict(marker.kwargs) if marker else {}
    yield from _hold(request, ditto_client, request.node.nodeid, **options)


@pytest.fixture
def ditto_url(ditto_copy):
    return ditto_copy.database_url


@pytest.fixture(scope="module")
def ditto_module_url(request, ditto_client):
    for copy in _hold(request, ditto_client, request.module.__name__):
        yield copy.database_url


@pytest.fixture(scope="session")
def ditto_session_url(request, ditto_client):
    for copy in _hold(request, ditto_client, "session"):
        yield copy.database_url
