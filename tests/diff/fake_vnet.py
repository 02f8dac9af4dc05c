#!/usr/bin/env python3
"""A stand-in for `vnet node --results-jsonl` that runs the lines on the real kernel.

Only for testing kernel_diff.py itself (its vnet path: process handling, JSONL
parsing, comparison and reporting) before/without the real vnet:

    tests/diff/kernel_diff.py --vnet tests/diff/fake_vnet.py --configs 3

It creates one namespace of its own (vnetdiff-<pid>-fake, removed on exit),
runs each stdin line there as `ip netns exec NS sh -c LINE` and prints one JSON
record per line. With VNETDIFF_FAKE_MUTATE=N every N-th record's stdout gets an
extra line, to check that the harness notices and reports disagreements.
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_diff as kd  # noqa: E402


def main():
    if sys.argv[1:] != ["node", "--results-jsonl"]:
        print("usage: fake_vnet.py node --results-jsonl", file=sys.stderr)
        return 2
    mutate = int(os.environ.get("VNETDIFF_FAKE_MUTATE", "0") or 0)
    signal.signal(signal.SIGTERM, kd._on_signal)
    try:
        with kd.KernelNS() as ns:
            n = 0
            for raw in sys.stdin:
                line = raw.rstrip("\n")
                if not line.strip():
                    continue
                n += 1
                r = ns.run(line)
                out = r.stdout + ("mutated\n" if mutate and n % mutate == 0 else "")
                print(json.dumps({"line": n, "cmd": line, "stdout": out, "stderr": r.stderr, "exit": r.exit}),
                      flush=True)
    finally:
        kd.cleanup_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
