#!/usr/bin/env python3
"""The sign-in throttle end to end over the demo (issue 17, deliverable 1), with Python's
http.client as the client.

Usage: login_throttle_demo_test.py PATH/TO/sessionkit-demo

- JSON API: the free failures answer 401, then 429 with Retry-After and the password is not even
  tried (the right one is refused too) until the delay has passed; a success sets the device
  cookie (HttpOnly, SameSite=Strict).
- The page's form: 429 with Retry-After and the page saying why.
- POST /api/token: invalid_grant, then 429 too_many_attempts with Retry-After.
- Two demo instances on one SQLite file count together: failures on one slow the other.
- Guessing one account from many addresses (X-Forwarded-For from a trusted proxy) meets the
  per-account limit, except on the owner's browser that signed in before (its device cookie).
- --login-throttle=false: no 429 however many failures.

Exit 0 when every check passed, 1 on any failure.
"""
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

from interop_util import Client, Demo, check, summary

WRONG = {"username": "alice", "password": "not her password"}
RIGHT = {"username": "alice", "password": "wonderland"}


def login(client, body, headers=None):
    return client.call("POST", "/api/login", body, client.csrf(), headers)


def scenario_json_api(binary):
    demo = Demo(binary, "memory://", "--login-pair-free", "2")
    try:
        c = Client(demo)
        for i in (1, 2, 3):
            status, headers, _ = login(c, WRONG)
            check(status == 401 and headers.get("Retry-After") is None,
                  f"wrong password {i}: 401 (the third puts a 1 s delay in force)")
        status, headers, answer = login(c, RIGHT)
        check(status == 429, "within the delay even the right password answers 429")
        check(headers.get("Retry-After") == "1", "with Retry-After: 1")
        check(answer == {"error": "too many failed sign-ins"}, "and a JSON error")
        time.sleep(1.1)
        status, headers, answer = login(c, RIGHT)
        check(status == 200 and answer["user"]["name"] == "alice",
              "after the delay the right password signs in")
        device = [line for line in headers.get_all("Set-Cookie") or []
                  if line.startswith("device=")]
        check(len(device) == 1 and "HttpOnly" in device[0] and "SameSite=Strict" in device[0],
              "and sets the device cookie, HttpOnly and SameSite=Strict")
        # The success forgot the pair: two more typos cost nothing.
        fresh = Client(demo)
        for i in (1, 2):
            status, _, _ = login(fresh, WRONG)
            check(status == 401, f"after the success, wrong password {i} is a plain 401 again")
    finally:
        demo.stop()


def scenario_form(binary):
    demo = Demo(binary, "memory://", "--login-pair-free", "0", "--login-max-delay", "60")
    try:
        c = Client(demo)
        c.call("GET", "/")
        for expected in (401, 429):
            form = urllib.parse.urlencode({**WRONG, "_csrf": c.csrf()})
            status, headers, page = c.call(
                "POST", "/login", form,
                headers={"Content-Type": "application/x-www-form-urlencoded"}, text=True)
            check(status == expected, f"the page's form: {expected}")
        check(headers.get("Retry-After") == "1", "the page's 429 has Retry-After")
        check(headers.get("Content-Type", "").startswith("text/html")
              and "Too many failed sign-ins. Please wait 1 second before" in page,
              "and is the page, saying why and how long to wait")
    finally:
        demo.stop()


def scenario_token_endpoint(binary):
    demo = Demo(binary, "memory://", "--login-pair-free", "1")
    try:
        for expected in ("invalid_grant", "invalid_grant"):
            status, _, answer = demo.request("POST", "/api/token", WRONG)
            check(status == 400 and answer["error"] == expected, f"/api/token: 400 {expected}")
        status, headers, answer = demo.request("POST", "/api/token", RIGHT)
        check(status == 429 and answer["error"] == "too_many_attempts"
              and headers.get("Retry-After") == "1",
              "/api/token: 429 too_many_attempts with Retry-After, the password not tried")
    finally:
        demo.stop()


def scenario_two_instances(binary):
    directory = tempfile.mkdtemp(prefix="throttle-two-")
    store = "sqlite://" + os.path.join(directory, "sessions.db")
    a = Demo(binary, store, "--login-pair-free", "3", "--login-max-delay", "60")
    b = Demo(binary, store, "--login-pair-free", "3", "--login-max-delay", "60")
    try:
        for i, demo in enumerate((a, b, a, b)):
            status, _, _ = login(Client(demo), WRONG)
            check(status == 401, f"failure {i + 1} on instance {'ab'[i % 2]}: 401")
        status, headers, _ = login(Client(a), RIGHT)
        check(status == 429 and headers.get("Retry-After") == "1",
              "the fourth failure, made on b, slows a: the counts are shared")
        status, _, _ = login(Client(b), RIGHT)
        check(status == 429, "and b")
    finally:
        a.stop()
        b.stop()
        shutil.rmtree(directory, ignore_errors=True)


def scenario_account_and_device(binary):
    demo = Demo(binary, "memory://", "--trusted-proxies", "127.0.0.1",
                "--login-pair-free", "100", "--login-address-free", "100",
                "--login-account-free", "3", "--login-max-delay", "60")
    try:
        owner = Client(demo, {"X-Forwarded-For": "192.0.2.10"})
        status, _, _ = login(owner, RIGHT)
        check(status == 200 and "device" in owner.jar, "alice signs in at home: a device cookie")
        for i in range(4):
            attacker = Client(demo, {"X-Forwarded-For": f"198.51.100.{i + 1}"})
            status, _, _ = login(attacker, WRONG)
            check(status == 401, f"a guess from address {i + 1}: 401")
        newcomer = Client(demo, {"X-Forwarded-For": "203.0.113.5"})
        status, headers, _ = login(newcomer, RIGHT)
        check(status == 429 and headers.get("Retry-After") == "1",
              "the fourth guess put the account over its limit: a new device waits")
        # The owner's browser, now signed out, from yet another address.
        owner.headers["X-Forwarded-For"] = "192.0.2.99"
        owner.call("POST", "/api/logout", None, owner.csrf())
        status, _, _ = login(owner, RIGHT)
        check(status == 200, "the owner's browser with its device cookie is not locked out")
        other = Client(demo, {"X-Forwarded-For": "203.0.113.6"})
        other.jar["device"] = owner.jar["device"][:-2] + "xx"
        status, _, _ = login(other, RIGHT)
        check(status == 429, "a forged device cookie does not help")
    finally:
        demo.stop()


def scenario_off(binary):
    demo = Demo(binary, "memory://", "--login-throttle=false")
    try:
        statuses = {login(Client(demo), WRONG)[0] for _ in range(12)}
        check(statuses == {401}, "--login-throttle=false: 12 failures, all 401, no 429")
        check("login throttle off" in demo.log(), "and the demo warns at start")
    finally:
        demo.stop()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    scenario_json_api(binary)
    scenario_form(binary)
    scenario_token_endpoint(binary)
    scenario_two_instances(binary)
    scenario_account_and_device(binary)
    scenario_off(binary)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
