#!/usr/bin/env python3
"""Where the predicted-versus-measured gap of real-time clocks comes from.

Runs the WHQL pattern (one 1448-byte segment every 100 us) with `rig run`
on the free clock (QEMU's own timers) and on the realtime clock (the
reference guest's thread steps QEMU's virtual clock every 20 us), at each
rsc_interval, with QEMU's RSC trace events on (a wrapper adds `-trace
virtio_net_rsc_* -msg timestamp=on -D FILE`; the trace patch is in both of
ci/build-qemu's builds).  For every segment it joins four times:

  sent      rsc-trafgen's send time (CLOCK_MONOTONIC, the run's JSON)
  read      QEMU's RSC code saw it: trace event cached / coalesced
  drained   QEMU delivered its unit: trace event drained
  harvest   the reference guest took the frame from the used ring

and prints, per clock and interval: segments per frame (oracle prediction
on the ideal schedule, measured), the tap read delay (read - sent), the
drain timer's lateness (drained - first read of the unit - rsc_interval),
what the late timer alone explains (segments read inside the unit's real
window), the guest's harvest delay, and the sender's lateness.  A
benchmark (figures, no pass/fail).  Needs root and the patched QEMU.

    tests/bench/sweep-gap.py [--build-dir build] [--qemu PATH]
        [--intervals 50,300,1000] [--count 3000] [--clocks free,realtime]
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\d+)@(\d+)\.(\d+):virtio_net_rsc_(\w+) (.*)$")

PROFILE = """[profile]
version = 1
name = gap-{clock}-{interval}
clock = {clock}
timing_slack_us = 2000
window_tolerance = 1
scenario_timeout_s = 120
[device]
rsc_interval_us = {interval}
families = ipv4;ipv6
queue_size = 1024
[guest]
rx_buffers = 1024
[scenario whql]
family = ipv4
pattern = whql
count = {count}
period_us = 100
payload = 1448
oracle = false
"""


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(1, min(len(s), int(-(-p * len(s) // 100))))
    return s[k - 1]


def fmt(values):
    return (f"p50 {pct(values, 50):7.0f}  p99 {pct(values, 99):7.0f}  "
            f"max {max(values) if values else float('nan'):7.0f}")


def clock_offset_ns():
    """CLOCK_REALTIME - CLOCK_MONOTONIC (QEMU stamps its log with the
    first, the rig its sends with the second)."""
    a = time.clock_gettime_ns(time.CLOCK_REALTIME)
    m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    b = time.clock_gettime_ns(time.CLOCK_REALTIME)
    return (a + b) // 2 - m


def parse_trace(path, offset_ns):
    """{seq: read time}, [(unit start seq, segments, drain time)] in
    CLOCK_MONOTONIC ns."""
    reads, drains = {}, []
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t = int(m.group(2)) * 10**9 + int(m.group(3)) * 1000 - offset_ns
        event, rest = m.group(4), m.group(5)
        fields = dict(zip(rest.split()[::2], rest.split()[1::2]))
        seq = int(fields.get("seq", -1))
        if event in ("cached", "coalesced"):
            reads.setdefault(seq, t)
        elif event == "drained":
            drains.append((seq, int(fields["segments"]), t))
    return reads, drains


def run_point(rig, qemu, clock, interval, count, work):
    d = work / f"{clock}-{interval}"
    d.mkdir()
    wrapper = d / "qemu"
    wrapper.write_text(f'#!/bin/sh\nexec {qemu} -trace "virtio_net_rsc_*" '
                       f'-msg timestamp=on -D {d}/trace-$$.log "$@"\n')
    wrapper.chmod(0o755)
    profile = d / "gap.ini"
    profile.write_text(PROFILE.format(clock=clock, interval=interval,
                                      count=count))
    off0 = clock_offset_ns()
    load = os.getloadavg()[0]
    r = subprocess.run([str(rig), "run", str(profile), "--qemu", str(wrapper),
                        "--json", str(d / "run.json")], capture_output=True,
                       text=True, timeout=600)
    off1 = clock_offset_ns()
    if abs(off1 - off0) > 100_000:
        print(f"  warning: the wall clock moved {abs(off1 - off0)} ns during "
              "the run", file=sys.stderr)
    doc = json.loads((d / "run.json").read_text())
    traces = sorted(d.glob("trace-*.log"), key=lambda p: p.stat().st_size)
    if not traces or traces[-1].stat().st_size == 0:
        sys.exit(f"no trace events from {qemu} (exit {r.returncode}: "
                 f"{r.stderr.strip()[-300:]})")
    reads, drains = parse_trace(traces[-1], (off0 + off1) // 2)
    views = doc["scenarios"][0]["views"]
    sent = [f for f in views["sent"]["frames"] if f["payload_len"] > 0]
    guest = [f for f in views["guest"]["frames"] if f["payload_len"] > 0]
    return sent, guest, reads, drains, load


def analyse(clock, interval, sent, guest, reads, drains, load):
    period_ns = 100_000
    # The ideal schedule that the earliest send meets exactly.
    t0 = min(f["time_ns"] - i * period_ns for i, f in enumerate(sent))
    lateness = [(f["time_ns"] - t0 - i * period_ns) / 1000
                for i, f in enumerate(sent)]
    tap = [(reads[f["seq"]] - f["time_ns"]) / 1000
           for f in sent if f["seq"] in reads]
    read_times = sorted(reads.values())
    timer_late, explained = [], []
    for seq, segs, t_drain in drains:
        if seq not in reads:
            continue
        start = reads[seq]
        timer_late.append((t_drain - start) / 1000 - interval)
        # Segments whose read falls inside the unit's real window: what
        # the late timer alone explains, given the read times.
        explained.append(sum(1 for t in read_times if start <= t <= t_drain))
    drained_at = {seq: t for seq, _, t in drains}
    harvest = [(g["time_ns"] - drained_at[g["seq"]]) / 1000
               for g in guest if g["seq"] in drained_at]
    spf = sum(max(g["csum_start"], 1) if g["hdr_flags"] & 4 else 1
              for g in guest) / max(len(guest), 1)
    unit_spf = statistics.mean(s for _, s, _ in drains) if drains else 0
    ideal = interval // 100 + (0 if interval % 100 == 0 else 1)
    ideal = max(ideal, 1)
    print(f"{clock:8s} rsc_interval {interval:4d} us  load {load:4.1f}: "
          f"segments/frame predicted {ideal:.2f}, measured {spf:.2f} "
          f"(QEMU's drains: {unit_spf:.2f})")
    print(f"    sender lateness (us)      {fmt(lateness)}")
    print(f"    tap read delay (us)       {fmt(tap)}   "
          f"({len(tap)} of {len(sent)} segments traced)")
    print(f"    drain timer late (us)     {fmt(timer_late)}")
    print(f"    segments read in window   mean {statistics.mean(explained) if explained else 0:.2f}"
          f" (= QEMU's drains when the timer explains the window)")
    print(f"    guest harvest delay (us)  {fmt(harvest)}")
    return {"clock": clock, "interval_us": interval, "load": load,
            "predicted": ideal, "measured": spf,
            "tap_p50_us": pct(tap, 50), "tap_p99_us": pct(tap, 99),
            "timer_late_p50_us": pct(timer_late, 50),
            "timer_late_p99_us": pct(timer_late, 99),
            "harvest_p50_us": pct(harvest, 50),
            "sender_late_p99_us": pct(lateness, 99)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default=str(ROOT / "build"))
    ap.add_argument("--qemu", default=os.environ.get("RIG_QEMU"))
    ap.add_argument("--intervals", default="50,300,1000")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--clocks", default="free,realtime")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    rig = Path(args.build_dir) / "rig" / "harness" / "rig"
    qemu = args.qemu
    if not qemu:
        cfg = (Path(args.build_dir) / "rig-config.h").read_text()
        qemu = re.search(r'RIG_DEFAULT_QEMU "([^"]*)"', cfg).group(1)
    print(f"sweep-gap: {os.cpu_count()} CPUs, load "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, QEMU {qemu}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sweep-gap.") as tmp:
        for clock in args.clocks.split(","):
            for interval in map(int, args.intervals.split(",")):
                rows.append(analyse(clock, interval, *run_point(
                    rig, qemu, clock, interval, args.count, Path(tmp))))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
