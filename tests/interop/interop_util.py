"""Shared by the interop tests (tests/interop/*_test.py): a running tally of checks, and a
sessionkit-demo process on a free loopback port driven with Python's http.client.

Nothing here is sessionkit's: the point of these tests is a client nobody here wrote.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

failures = []
passed = 0


def check(ok, what):
    """Records one check and prints it: "ok   what" or "FAIL what"."""
    global passed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failures.append(what)
        print(f"FAIL {what}")


def summary(prefix=""):
    """Prints the tally; the exit code: 0 when every check passed, else 1."""
    print(f"{prefix}{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


class Demo:
    """A sessionkit-demo process on a free loopback port; stopped by its pid."""

    def __init__(self, binary, store, *flags):
        self.dir = tempfile.mkdtemp(prefix="sessionkit-demo-")
        self.out = open(os.path.join(self.dir, "out"), "w+")
        self.err = open(os.path.join(self.dir, "err"), "w+")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--store", store, "--threads", "1", *flags],
            stdout=self.out, stderr=self.err, env={"PATH": os.environ.get("PATH", "")})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.out.name) as f:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)\n", f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError("sessionkit-demo did not start:\n" + log)

    def request(self, method, path, body=None, headers=None, text=False):
        """(status, headers, parsed JSON body or None; with `text`, the body as text). A dict or
        list body is sent as JSON."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        res = conn.getresponse()
        raw = res.read()
        conn.close()
        if text:
            return res.status, res.headers, raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return res.status, res.headers, parsed

    def log(self):
        with open(self.err.name) as f:
            return f.read()

    def stop(self):
        """Stops the process (SIGTERM, then SIGKILL after 15 s), checks that it shut down cleanly
        (exit 0: no sanitizer report either), and removes its files."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode != 0:
            check(False, f"sessionkit-demo exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
        self.out.close()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One client of a Demo with a cookie jar (name=value, as a browser would send them)."""

    def __init__(self, demo, headers=None):
        self.demo = demo
        self.jar = {}
        self.headers = dict(headers or {})

    def call(self, method, path, body=None, csrf=None, headers=None, text=False):
        """Demo.request with the jar's cookies; Set-Cookie answers update the jar (a cookie set
        empty is dropped)."""
        hdrs = {**self.headers, **(headers or {})}
        if self.jar:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if csrf:
            hdrs["X-CSRF-Token"] = csrf
        status, res_headers, answer = self.demo.request(method, path, body, hdrs, text)
        for line in res_headers.get_all("Set-Cookie") or []:
            name, value = line.split(";")[0].split("=", 1)
            if value:
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        return status, res_headers, answer

    def csrf(self):
        """A CSRF token for this client's next write (GET /api/session)."""
        _, _, answer = self.call("GET", "/api/session")
        return answer["csrf_token"]
