#!/usr/bin/env python3
"""Folds `perf script -F ip,sym,dso` call stacks into parts of a request, in microseconds of CPU.

Used by bench/macro/breakdown.sh. Each argument is KIND=SCRIPT:REQUESTS:FREQ, where SCRIPT is
the perf script output of one request kind, REQUESTS the requests served while perf sampled and
FREQ the sampling frequency (perf record -F). Every sample stands for 1/FREQ s of CPU time. A
sample goes to the first part below whose pattern matches any frame of its stack, so a part
holds everything it calls that no earlier part claimed.
Prints one row per part and one column per kind: CPU microseconds per request.
"""
import re
import sys

PARTS = [
    # recvmsg first: Asio reads the next request at once, inside the previous write's completion
    ("recvmsg", r"recvmsg"),
    ("epoll_wait", r"epoll_wait"),
    ("sendmsg (the kernel's loopback path; it wakes the client)", r"sendmsg"),
    ("response write (serializer, write operation)",
     r"beast::http::detail::write_op<|asio::detail::write_op<|serialize_header"),
    ("session load (SessionManager::load)", r"sessionkit::SessionManager::load\b"),
    ("session commit (SessionManager::commit)", r"sessionkit::SessionManager::commit\b"),
    ("atomic increment (SessionManager::increment)", r"sessionkit::SessionManager::increment\b"),
    ("CSRF token and check", r"sessionkit::SessionManager::(csrf_token|verify_csrf)"),
    ("demo handler (route, response, body)", r"demo::(Router|make_response|set_json_body)"),
    ("request parse (Beast parser)", r"beast::http::basic_parser<true>::put"),
    ("timers (Beast's per-operation timeout)", r"waitable_timer|deadline_timer|cancel_timer"),
]
OTHER = "other (Asio scheduling, coroutine frames, ...)"


def fold(path):
    """Returns ({part: samples}, kernel samples, total samples)."""
    counts, kernel, total = {}, 0, 0
    stack = []

    def flush():
        nonlocal kernel, total
        if not stack:
            return
        total += 1
        if "kernel" in stack[0][1]:
            kernel += 1
        part = OTHER
        for name, pattern in PARTS:
            if any(re.search(pattern, sym) for sym, _ in stack):
                part = name
                break
        counts[part] = counts.get(part, 0) + 1

    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                flush()
                stack = []
                continue
            # "<ip> <symbol> (<dso>)"; the symbol may contain spaces and parentheses
            fields = line.split(None, 1)
            rest = fields[1] if len(fields) > 1 else "?"
            dso = ""
            if rest.endswith(")") and " (" in rest:
                rest, dso = rest.rsplit(" (", 1)
            stack.append((rest, dso))
    flush()
    return counts, kernel, total


def main():
    kinds = []
    for arg in sys.argv[1:]:
        kind, spec = arg.split("=", 1)
        path, requests, freq = spec.rsplit(":", 2)
        counts, kernel, total = fold(path)
        per = 1e6 / float(freq) / float(requests)  # microseconds per sample per request
        kinds.append((kind, counts, kernel * per, total * per, per))
    names = [name for name, _ in PARTS] + [OTHER]
    width = max(len(n) for n in names) + 2
    print("CPU µs per request".ljust(width) + "".join(f"{k:>10}" for k, *_ in kinds))
    for name in names:
        print(name.ljust(width) +
              "".join(f"{c.get(name, 0) * per:10.2f}" for _, c, _, _, per in kinds))
    print("of which in the kernel".ljust(width) + "".join(f"{k:10.2f}" for _, _, k, _, _ in kinds))
    print("total".ljust(width) + "".join(f"{t:10.2f}" for _, _, _, t, _ in kinds))


if __name__ == "__main__":
    main()
