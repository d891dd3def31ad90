#!/usr/bin/python3
"""QEMU's receive path under load: segments per second and QEMU CPU time
per segment, tap -> guest, RSC on and off, 1, 8 and 64 flows, the stock
build (observability patches only) against the fixed one.

Not a test: it prints figures.  Each measurement is one `rig-guest --bench
SEC --bench-tcp --bench-flows N` run: the reference guest on shared memory
(no qtest per frame), QEMU's own clocks (--clock free: TCG, vCPU halted, no
virtual-clock stepping), 1448-byte TCP segments injected on the tap with a
window of 256 in flight.  "RSC on" is the netkvm profile (RSC_EXT and the
offloads negotiated), "off" the no-rsc profile (GUEST_TSO4/6 without
RSC_EXT: QEMU's RSC path is not entered).

The machine is shared and noisy, so configurations are interleaved in a
random order ROUNDS times and medians are printed; the fixed/stock ratio
of QEMU ns per segment is computed per configuration from the medians of
the same run.  Load (loadavg) is printed at start and end.

    tests/bench/bench-qemu-rsc.py [--build-dir DIR] [--seconds S]
        [--rounds R] [--stock PATH] [--fixed PATH] [--json FILE]

Needs root (rig-guest creates a namespace and a tap).
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOWS = (1, 8, 64)
MODES = {"on": "netkvm", "off": "no-rsc"}
# The fixed series may cost at most this much QEMU CPU per segment.
BUDGET = 1.05


def build_qemu_path(stock):
    args = [str(ROOT / "ci" / "build-qemu"), "--print-binary"]
    if stock:
        args.insert(1, "--stock")
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def describe(qemu):
    record = Path(qemu).resolve().parents[1] / "rig-qemu-build.json"
    try:
        doc = json.loads(record.read_text())
    except (OSError, ValueError):
        return "no rig-qemu-build.json"
    return (f"{doc.get('build', '?')} {doc.get('qemu_version', '?')}, "
            f"{len(doc.get('fix_patches', []))} fix patches")


def run_one(rig_guest, qemu, profile, flows, seconds):
    cmd = [str(rig_guest), "--qemu", qemu, "--profile", profile,
           "--bench", str(seconds), "--bench-tcp", "--bench-flows",
           str(flows)]
    r = subprocess.run(["nice", "-n", "10", *cmd], capture_output=True,
                       text=True, timeout=seconds + 120)
    line = next((l for l in r.stdout.splitlines()
                 if l.startswith("bench:")), None)
    if r.returncode != 0 or line is None:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: "
                           f"{r.stderr[-1000:]}")
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=str(ROOT / "build"))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stock", help="stock QEMU (default: ci/build-qemu "
                    "--stock --print-binary)")
    ap.add_argument("--fixed", help="fixed QEMU (default: ci/build-qemu "
                    "--print-binary)")
    ap.add_argument("--json", help="write every measurement here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-qemu-rsc: needs root (namespaces, taps)")
    if args.rounds < 1 or not 0 < args.seconds <= 600:
        sys.exit("bench-qemu-rsc: --rounds >= 1, --seconds 0..600")
    rig_guest = Path(args.build_dir) / "rig" / "guest" / "rig-guest"
    if not rig_guest.is_file():
        sys.exit(f"bench-qemu-rsc: {rig_guest} not built")
    builds = {"stock": args.stock or build_qemu_path(True),
              "fixed": args.fixed or build_qemu_path(False)}
    for name, path in builds.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"bench-qemu-rsc: {name} QEMU {path} missing: run "
                     "ci/build-qemu")

    print(f"bench-qemu-rsc: {os.cpu_count()} CPUs, load {loadavg()}, "
          f"{args.rounds} rounds of {args.seconds:g} s, interleaved")
    for name, path in builds.items():
        print(f"  {name}: {path} ({describe(path)})")
    configs = [(b, m, f) for b in builds for m in MODES for f in FLOWS]
    results = {c: [] for c in configs}
    for rnd in range(args.rounds):
        order = configs[:]
        random.shuffle(order)
        for build, mode, flows in order:
            results[(build, mode, flows)].append(
                run_one(rig_guest, builds[build], MODES[mode], flows,
                        args.seconds))
        print(f"  round {rnd + 1}/{args.rounds} done, load {loadavg()}",
              flush=True)

    def med(build, mode, flows, key):
        return statistics.median(float(r[key])
                                 for r in results[(build, mode, flows)])

    print()
    print(f"{'build':6} {'RSC':4} {'flows':>5} {'segments/s':>11} "
          f"{'frames/s':>9} {'seg/frame':>9} {'QEMU ns/seg':>11} "
          f"{'QEMU CPU':>8} {'lost':>5}")
    for build, mode, flows in configs:
        rs = results[(build, mode, flows)]
        print(f"{build:6} {mode:4} {flows:5d} "
              f"{med(build, mode, flows, 'segments_per_s'):11.0f} "
              f"{med(build, mode, flows, 'harvest_fps'):9.0f} "
              f"{med(build, mode, flows, 'frames_per_coalesced'):9.2f} "
              f"{med(build, mode, flows, 'qemu_ns_per_segment'):11.0f} "
              f"{med(build, mode, flows, 'qemu_cpu'):8.2f} "
              f"{max(int(r['lost']) for r in rs):5d}")
    print()
    print("fixed / stock, QEMU ns per segment (medians of this run; budget "
          f"{BUDGET:.2f}):")
    worst = 0.0
    for mode in MODES:
        for flows in FLOWS:
            ratio = (med("fixed", mode, flows, "qemu_ns_per_segment")
                     / med("stock", mode, flows, "qemu_ns_per_segment"))
            worst = max(worst, ratio)
            print(f"  RSC {mode:3} {flows:2d} flows: {ratio:.3f}"
                  f"{'  OVER BUDGET' if ratio > BUDGET else ''}")
    print(f"worst ratio {worst:.3f}; load at end {loadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"builds": builds, "results": [
                {"build": b, "rsc": m, "flows": f, "runs": results[(b, m, f)]}
                for b, m, f in configs]}, indent=1))


if __name__ == "__main__":
    main()
