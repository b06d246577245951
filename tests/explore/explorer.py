"""explorer.py: starts `psyncc explore` as a real process on loopback and talks
to its HTTP API (test_http.py, test_browser.py). Standard library only."""
import http.client
import json
import os
import select
import signal
import subprocess
import time

START_TIMEOUT = 120  # seconds: JIT compilation on a loaded 2-core machine


class Explorer:
    """`psyncc explore FILE -n N --port 0`; the URL is its first stdout line."""

    def __init__(self, psyncc, source, n, *extra):
        self.proc = subprocess.Popen([psyncc, "explore", source, "-n", str(n), "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self._read_line(START_TIMEOUT)
        prefix = "psyncc explore: http://127.0.0.1:"
        if not line.startswith(prefix):
            self.stop()
            raise AssertionError(f"first line is not the URL: {line!r}; stderr: {self.proc.stderr.read()!r}")
        self.url = line.split(": ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"no URL on stdout within {timeout} s (got {buf!r})")
            chunk = os.read(fd, 1)
            if not chunk:
                raise AssertionError(f"psyncc explore exited early: {buf!r} {self.proc.stderr.read()!r}")
            buf += chunk
        return buf.decode()

    def request(self, method, path, body=None, raw_body=None, headers=None):
        """Returns (status, content type, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = raw_body if raw_body is not None else (None if body is None else json.dumps(body).encode())
            if headers is None:
                headers = {"Content-Type": "application/json"} if method == "POST" else {}
            conn.request(method, path, body=data, headers=headers)
            res = conn.getresponse()
            return res.status, res.getheader("Content-Type"), res.read()
        finally:
            conn.close()

    def get_json(self, path):
        status, _, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def post(self, path, body=None):
        """POSTs JSON; returns (status, decoded JSON)."""
        status, ctype, data = self.request("POST", path, body=body if body is not None else {})
        assert ctype.startswith("application/json"), (path, ctype)
        return status, json.loads(data)

    def post_ok(self, path, body=None):
        status, data = self.post(path, body)
        assert status == 200, (path, status, data)
        return data

    def terminate(self, timeout=20):
        """SIGTERM; returns the exit status (it must exit on its own)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.stop()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


def write_trace(psyncc, source, n, path):
    """A counterexample from `psyncc check --trace-json` (the protocol must be broken)."""
    r = subprocess.run([psyncc, "check", source, "-n", str(n), "--trace-json", path],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, f"expected a violation (exit 1), got {r.returncode}: {r.stdout}{r.stderr}"
    with open(path) as f:
        return json.load(f)
