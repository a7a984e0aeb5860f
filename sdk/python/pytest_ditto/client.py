"""A client of ditto's API (docs/api.yaml), on the standard library only.

The daemon is found as the CLI finds it: DITTO_SERVER (unix:///PATH of its
socket, or https://HOST:PORT with DITTO_TOKEN), else its default socket.
"""

import errno
import http.client
import json
import os
import socket
import ssl
import threading
import urllib.parse

DEFAULT_SOCKET = "/run/ditto/ditto.sock"

# The label values ditto keeps are at most this many bytes.
MAX_LABEL_VALUE = 256


class DittoError(Exception):
    """An error of the daemon, as it sent it: a stable code, a message and
    a hint saying what to do next."""

    def __init__(self, code, message, hint=""):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint

    def __str__(self):
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")


class Copy:
    """A copy of the golden database. database_url holds its password: only
    its owner gets it."""

    def __init__(self, view, client=None, stream=None):
        self.view = view
        self.id = view["id"]
        self.database_url = view.get("database_url", "")
        self._client, self._stream = client, stream
        self._released = False

    def release(self, keep=False):
        """Ends the copy's hold: destroys the copy, or with keep hands it over
        to its TTL (to look at it after a failed test)."""
        if self._released:
            return
        self._released = True
        try:
            if keep:
                self._client.keep(self.id)
            elif self._client is not None:
                try:
                    self._client.destroy(self.id)
                except DittoError as e:
                    if e.code != "not_found":
                        raise
        finally:
            if self._stream is not None:
                self._stream.close()

    def __repr__(self):
        return f"Copy({self.id!r})"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("ditto", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


class _Stream:
    """The open response of a held create; the daemon destroys the copy when
    it closes. A thread drains its heartbeats so the daemon never blocks."""

    def __init__(self, conn, resp):
        self._conn, self._resp = conn, resp
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        try:
            while self._resp.readline():
                pass
        except (OSError, ValueError, http.client.HTTPException):
            pass

    def close(self):
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conn.close()
        self._thread.join(timeout=5)


class Client:
    """One daemon. Each request opens a connection of its own, so a Client
    may be shared by threads."""

    def __init__(self, server=None, token=None, ca_file=None, timeout=120.0):
        server = server or os.environ.get("DITTO_SERVER") or "unix://" + DEFAULT_SOCKET
        self.server = server
        self._token = token or os.environ.get("DITTO_TOKEN", "")
        self._timeout = timeout
        u = urllib.parse.urlsplit(server)
        if u.scheme == "unix" and u.path and not u.netloc:
            self._socket = u.path
        elif u.scheme == "https" and u.hostname:
            self._socket = None
            self._host, self._port = u.hostname, u.port or 443
            self._ssl = ssl.create_default_context(cafile=ca_file or os.environ.get("DITTO_CA_FILE") or None)
        else:
            raise ValueError(
                f"invalid ditto server {server!r}: give unix:///PATH of the daemon's socket "
                "(e.g. unix:///run/ditto/ditto.sock) or https://HOST:PORT with DITTO_TOKEN"
            )

    def _connect(self):
        if self._socket:
            return _UnixConnection(self._socket, self._timeout)
        return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._ssl)

    def _unreachable(self, err):
        if self._socket and err.errno == errno.EACCES:
            return DittoError(
                "unauthorized",
                f"no permission to use the ditto daemon's socket {self._socket}",
                "only members of its group may: ask an admin to run `sudo usermod -aG ditto $USER`, then log in again",
            )
        if self._socket and err.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return DittoError(
                "unavailable",
                f"no ditto daemon listens on {self._socket}",
                "start it (`sudo systemctl start ditto`, or `sudo ditto serve`), or set DITTO_SERVER",
            )
        return DittoError("unavailable", f"cannot reach the ditto daemon at {self.server}: {err}",
                          "check DITTO_SERVER and that the daemon runs")

    def _send(self, method, path, body=None, want=200):
        """Sends a request; returns the open connection and response when the
        status is want, raises DittoError otherwise."""
        conn = self._connect()
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token and not self._socket:
            headers["Authorization"] = "Bearer " + self._token
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            conn.close()
            raise self._unreachable(e) from None
        if resp.status == want:
            return conn, resp
        try:
            err = json.loads(resp.read(1 << 20))
            raise DittoError(err["code"], err["message"], err.get("hint", ""))
        except (ValueError, KeyError, TypeError):
            raise DittoError("internal", f"the ditto daemon answered {method} {path} with {resp.status} {resp.reason}") from None
        finally:
            conn.close()

    def _call(self, method, path, body=None, want=200):
        conn, resp = self._send(method, path, body, want)
        try:
            data = resp.read()
        finally:
            conn.close()
        return json.loads(data) if data else None

    @staticmethod
    def _create_body(ttl, labels, settings, durable):
        body = {}
        if ttl is not None:
            body["ttl"] = str(ttl)
        if labels:
            body["labels"] = dict(labels)
        if settings:
            body["settings"] = list(settings)
        if durable:
            body["durable"] = True
        return body

    def create(self, ttl=None, labels=None, settings=None, durable=False):
        """Creates a copy that lives until destroyed or its TTL ends."""
        return Copy(self._call("POST", "/v1/copies", self._create_body(ttl, labels, settings, durable), 201), self)

    def hold(self, ttl=None, labels=None, settings=None, durable=False):
        """Creates a copy that lives while this process and the returned
        Copy's hold do: Copy.release() destroys it (or keeps it), and so does
        the end of this process, even by kill -9."""
        body = self._create_body(ttl, labels, settings, durable)
        body["hold"] = True
        conn, resp = self._send("POST", "/v1/copies", body, 201)
        try:
            view = json.loads(resp.readline())
        except (OSError, ValueError) as e:
            conn.close()
            raise DittoError("internal", f"reading the copy from the ditto daemon: {e}") from None
        return Copy(view, self, _Stream(conn, resp))

    @staticmethod
    def _path(copy_id, action=""):
        return "/v1/copies/" + urllib.parse.quote(copy_id, safe="") + ("/" + action if action else "")

    def list(self):
        return self._call("GET", "/v1/copies")

    def get(self, copy_id):
        return self._call("GET", self._path(copy_id))

    def destroy(self, copy_id):
        self._call("DELETE", self._path(copy_id), want=204)

    def reset(self, copy_id):
        return self._call("POST", self._path(copy_id, "reset"))

    def keep(self, copy_id):
        self._call("POST", self._path(copy_id, "keep"), want=204)


def label_value(text):
    """Cuts text to what a label value may hold: printable, at most 256 bytes."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    b = text.encode()[:MAX_LABEL_VALUE]
    return b.decode(errors="ignore")


# Where a CI system says which run and job this is: the variable that
# tells it runs, and the labels (after "ci.") its variables give; the same
# table as the CLI's (api/cilabels.go).
_CI = [
    ("github", "GITHUB_RUN_ID", {"repository": "GITHUB_REPOSITORY", "run_id": "GITHUB_RUN_ID", "job": "GITHUB_JOB", "workflow": "GITHUB_WORKFLOW"}),
    ("gitlab", "CI_JOB_ID", {"project": "CI_PROJECT_PATH", "pipeline_id": "CI_PIPELINE_ID", "job_id": "CI_JOB_ID", "job": "CI_JOB_NAME"}),
    ("buildkite", "BUILDKITE_JOB_ID", {"pipeline": "BUILDKITE_PIPELINE_SLUG", "build_number": "BUILDKITE_BUILD_NUMBER", "job_id": "BUILDKITE_JOB_ID"}),
    ("circleci", "CIRCLE_BUILD_NUM", {"project": "CIRCLE_PROJECT_REPONAME", "build_number": "CIRCLE_BUILD_NUM", "job": "CIRCLE_JOB"}),
    ("jenkins", "BUILD_NUMBER", {"job": "JOB_NAME", "build_number": "BUILD_NUMBER"}),
]


def ci_labels(env=None):
    """The labels that say which CI run made a copy, from the environment."""
    env = os.environ if env is None else env
    for provider, marker, names in _CI:
        if env.get(marker):
            labels = {"ci.provider": provider}
            for label, variable in names.items():
                value = label_value(env.get(variable, "").strip())
                if value:
                    labels["ci." + label] = value
            return labels
    return {}
