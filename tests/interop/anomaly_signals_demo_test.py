#!/usr/bin/env python3
"""Anomaly signals end to end over the demo (issue 17, deliverable 2), with Python's http.client
as the client and the demo's own /metrics and log as the witnesses.

Usage: anomaly_signals_demo_test.py PATH/TO/sessionkit-demo

- Normal use stays quiet: alice on a laptop and a phone, the phone moving from Wi-Fi to a mobile
  network and signing in again, both browsing; bob signing in too. Every
  sessionkit_anomalies_total{reason} series is exported and stays 0.
- One user from a fifth network within the hour (X-Forwarded-For from a trusted proxy):
  many_addresses, counted once per such sign-in, and logged with the user.
- A fifth browser (User-Agent): many_user_agents.
- Sign-in/sign-out cycles, half on each of two demo instances on one SQLite file: the eleventh
  within ten minutes is sign_in_cycles, once.
- The login throttle's anomalies are counted too: the sixth wrong password from one address is
  login_failures_pair.
- --anomaly-signals=false: the same spread raises nothing.

Exit 0 when every check passed, 1 on any failure.
"""
import os
import re
import shutil
import sys
import tempfile

from interop_util import Client, Demo, check, summary

ALICE = {"username": "alice", "password": "wonderland"}
BOB = {"username": "bob", "password": "builder"}
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"


def sign_in(client, who):
    status, _, answer = client.call("POST", "/api/login", who, client.csrf())
    return status == 200 and answer["user"]["name"] == who["username"]


def sign_out(client):
    status, _, _ = client.call("POST", "/api/logout", None, client.csrf())
    return status == 200


def anomalies(demo):
    """{reason: count} from the demo's /metrics."""
    status, _, text = demo.request("GET", "/metrics", text=True)
    assert status == 200, text
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r'^sessionkit_anomalies_total\{reason="([a-z_]+)"\} (\d+)$', text, re.M)}


def client(demo, address, agent):
    return Client(demo, {"X-Forwarded-For": address, "User-Agent": agent})


def scenario_normal_use_is_quiet(binary):
    demo = Demo(binary, "memory://", "--trusted-proxies", "127.0.0.1")
    try:
        laptop = client(demo, "203.0.113.5", LAPTOP)
        phone = client(demo, "203.0.113.5", PHONE)
        check(sign_in(laptop, ALICE) and sign_in(phone, ALICE),
              "alice signs in on her laptop and her phone at home")
        phone.headers["X-Forwarded-For"] = "198.51.100.7"  # the train: a mobile network
        check(sign_out(phone) and sign_in(phone, ALICE), "the phone signs in again on the train")
        phone.headers["X-Forwarded-For"] = "198.51.100.201"  # the carrier moves it
        for c in (laptop, phone):
            status, _, _ = c.call("POST", "/api/increment", None, c.csrf())
            check(status == 200, "both browse")
        check(sign_in(client(demo, "192.0.2.44", LAPTOP), BOB), "bob signs in from his office")
        counts = anomalies(demo)
        check(len(counts) == 12, f"every reason is exported ({len(counts)} series)")
        check(set(counts.values()) == {0}, f"and all are 0: {counts}")
        check("session anomaly" not in demo.log(), "nothing logged as an anomaly")
    finally:
        demo.stop()


def scenario_spread(binary):
    demo = Demo(binary, "memory://", "--trusted-proxies", "127.0.0.1")
    try:
        for i in range(1, 5):
            check(sign_in(client(demo, f"192.0.2.{i}", LAPTOP), ALICE),
                  f"alice signs in from network {i}")
        check(anomalies(demo)["many_addresses"] == 0, "four networks: quiet")
        check(sign_in(client(demo, "192.0.2.5", LAPTOP), ALICE),
              "the fifth sign-in is not refused (a signal, not a block)")
        check(anomalies(demo)["many_addresses"] == 1, "the fifth network: many_addresses 1")
        check(re.search(r"session anomaly:many_addresses key= user=alice reason=\"sign-in from "
                        r"192\.0\.2\.5: sessions used from 5 networks", demo.log()) is not None,
              "logged with the user and the networks")
        for i in range(1, 4):
            check(sign_in(client(demo, "203.0.113.9", f"agent/{i}"), BOB),
                  f"bob signs in with browser {i}")
        check(sign_in(client(demo, "203.0.113.9", "agent/4"), BOB), "bob's fourth browser")
        check(anomalies(demo)["many_user_agents"] == 0, "four User-Agents: quiet")
        check(sign_in(client(demo, "203.0.113.9", "agent/5"), BOB), "bob's fifth browser")
        check(anomalies(demo)["many_user_agents"] == 1, "the fifth: many_user_agents 1")
    finally:
        demo.stop()


def scenario_cycles_across_instances(binary):
    directory = tempfile.mkdtemp(prefix="sessionkit-anomaly-")
    store = "sqlite://" + os.path.join(directory, "sessions.db")
    a = Demo(binary, store)
    b = Demo(binary, store)
    try:
        ok = True
        for i in range(10):
            c = Client((a, b)[i % 2])
            ok = ok and sign_in(c, ALICE) and sign_out(c)
        check(ok, "ten sign-in/sign-out cycles, alternating between two instances")
        check(anomalies(a)["sign_in_cycles"] + anomalies(b)["sign_in_cycles"] == 0,
              "ten: quiet")
        check(sign_in(Client(b), ALICE), "the eleventh")
        check(anomalies(b)["sign_in_cycles"] == 1 and anomalies(a)["sign_in_cycles"] == 0,
              "is sign_in_cycles on the instance that saw it: the count was shared")
        check(sign_in(Client(a), ALICE) and anomalies(a)["sign_in_cycles"] == 0,
              "the twelfth says nothing more (once per window)")
    finally:
        a.stop()
        b.stop()
        shutil.rmtree(directory, ignore_errors=True)


def scenario_throttle_counts(binary):
    demo = Demo(binary, "memory://")
    try:
        c = Client(demo)
        wrong = {"username": "alice", "password": "not her password"}
        for _ in range(6):
            c.call("POST", "/api/login", wrong, c.csrf())
        counts = anomalies(demo)
        check(counts["login_failures_pair"] == 1 and counts["login_failures_address"] == 0,
              f"the sixth wrong password from one address: login_failures_pair 1 ({counts})")
    finally:
        demo.stop()


def scenario_off(binary):
    demo = Demo(binary, "memory://", "--trusted-proxies", "127.0.0.1", "--anomaly-signals=false")
    try:
        for i in range(1, 7):
            sign_in(client(demo, f"192.0.2.{i}", f"agent/{i}"), ALICE)
        counts = anomalies(demo)
        check(counts["many_addresses"] == 0 and counts["many_user_agents"] == 0,
              "--anomaly-signals=false: six networks and browsers raise nothing")
    finally:
        demo.stop()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    scenario_normal_use_is_quiet(binary)
    scenario_spread(binary)
    scenario_cycles_across_instances(binary)
    scenario_throttle_counts(binary)
    scenario_off(binary)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
