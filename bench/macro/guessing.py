#!/usr/bin/env python3
"""A scripted password-guessing attack on two sessionkit-demo instances sharing one store
(issue 17: how many guesses get through the sign-in throttle).

Usage: guessing.py PATH/TO/sessionkit-demo STORE_URL [SECONDS_PER_SCENARIO]

Starts two demo instances on STORE_URL (trusting 127.0.0.1 as a proxy, so X-Forwarded-For
names the attacker's address) and runs three attacks, each for SECONDS_PER_SCENARIO (default
60), alternating its requests between the two instances as fast as one client can:
  one-pair        one address guessing one account;
  one-address     one address guessing a new account each time;
  many-addresses  a new address (from 10.0.0.0/8) guessing one account each time.
For each it prints the attempts sent, the guesses the demo actually tried (answered 401: wrong
password), the attempts refused unread (429), and the tried guesses per minute. The demo's own
defaults apply unless extra flags are given in DEMO_FLAGS. Traffic goes to 127.0.0.1 only.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "interop"))
from interop_util import Client, Demo  # noqa: E402


def attack(demos, seconds, account_of, address_of):
    clients = {}
    sent = tried = refused = other = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        demo = demos[i % 2]
        address = address_of(i)
        client = clients.get((id(demo), address))
        if client is None:
            client = Client(demo, {"X-Forwarded-For": address})
            clients[(id(demo), address)] = client
            if len(clients) > 64:  # one client per address is enough: forget old ones
                clients.pop(next(iter(clients)))
        status, _, _ = client.call("POST", "/api/login",
                                   {"username": account_of(i), "password": f"guess-{i}"},
                                   client.csrf())
        sent += 1
        if status == 401:
            tried += 1
        elif status == 429:
            refused += 1
        else:
            other += 1
        i += 1
    return sent, tried, refused, other


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    binary, store = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    flags = ["--trusted-proxies", "127.0.0.1", *os.environ.get("DEMO_FLAGS", "").split()]
    a = Demo(binary, store, *flags)
    b = Demo(binary, store, *flags)
    stamp = str(int(time.time()))
    scenarios = [
        ("one-pair", lambda i: "alice", lambda i: "192.0.2.77"),
        ("one-address", lambda i: f"user-{stamp}-{i}", lambda i: "192.0.2.78"),
        ("many-addresses", lambda i: "bob",
         lambda i: f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"),
    ]
    print(f"store {store}, two instances, {seconds:g} s per scenario, flags {' '.join(flags)}")
    print(f"{'scenario':<16}{'sent':>8}{'tried':>8}{'429':>8}{'other':>7}{'tried/min':>11}")
    try:
        for name, account_of, address_of in scenarios:
            sent, tried, refused, other = attack((a, b), seconds, account_of, address_of)
            print(f"{name:<16}{sent:>8}{tried:>8}{refused:>8}{other:>7}"
                  f"{tried * 60 / seconds:>11.1f}", flush=True)
    finally:
        a.stop()
        b.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
