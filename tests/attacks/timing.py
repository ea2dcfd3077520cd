#!/usr/bin/env python3
"""Whole-process wall time of `/bin/true` bare and under each sandbox runner, measured
alternately in one run so all see the same machine state.

Usage: timing.py --rounds N --ws DIR [--home DIR] NAME=ARGV_JSON...
Prints one line per runner: median and p90 in milliseconds, and the ratio to the first.
"""

import argparse
import json
import os
import statistics
import subprocess
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--home", default=os.environ.get("HOME"))
    parser.add_argument("runners", nargs="+", help='name=["argv", ...]')
    args = parser.parse_args()
    runners = []
    for spec in args.runners:
        name, argv = spec.split("=", 1)
        runners.append((name, json.loads(argv)))
    env = dict(os.environ, HOME=args.home)
    samples = {name: [] for name, _ in runners}
    for name, argv in runners:  # warm caches once
        subprocess.run(argv, cwd=args.ws, env=env, check=True, capture_output=True)
    for _ in range(args.rounds):
        for name, argv in runners:
            started = time.perf_counter()
            subprocess.run(argv, cwd=args.ws, env=env, check=True, capture_output=True)
            samples[name].append((time.perf_counter() - started) * 1000)
    first = statistics.median(samples[runners[0][0]])
    print(f"| runner | median ms | p90 ms | ratio to {runners[0][0]} |")
    print("|---|---:|---:|---:|")
    for name, _ in runners:
        xs = sorted(samples[name])
        median = statistics.median(xs)
        p90 = xs[int(0.9 * (len(xs) - 1))]
        print(f"| {name} | {median:.2f} | {p90:.2f} | {median / first:.1f}x |")


if __name__ == "__main__":
    main()
