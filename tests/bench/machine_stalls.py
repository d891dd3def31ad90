#!/usr/bin/python3
"""How this machine takes the CPU away from a thread: the floor under any pacer.

Not a test: it prints figures.  A thread pinned to one CPU does nothing but
read CLOCK_MONOTONIC for SECONDS; every gap of more than 5 us between two
reads is a stall.  The stalls are then sorted by what they recur with:

- every 1 ms (the hypervisor's tick on the CI machines): the densest 100 us
  phase window modulo 1 ms, and how fast that phase drifts against the
  guest clock;
- every 4 ms (the guest's tick at HZ=250), among the rest;
- every 100 ms, among the rest longer than 25 us;
- the guest's own timer interrupts on that CPU (/proc/interrupts LOC), to
  tell guest interrupts from the hypervisor's.

    tests/bench/machine_stalls.py [--seconds S] [--cpu N] [--json FILE]
"""

import argparse
import json
import os
import subprocess
import sys

SPIN = r"""
import json, os, sys, time
seconds, cpu = float(sys.argv[1]), int(sys.argv[2])
os.sched_setaffinity(0, {cpu})

def timer_interrupts():
    for line in open("/proc/interrupts"):
        fields = line.split()
        if fields and fields[0] == "LOC:":
            return int(fields[1 + cpu])
    return 0

before = timer_interrupts()
start = time.monotonic_ns()
end = start + int(seconds * 1e9)
last, stalls = start, []
while last < end:
    now = time.monotonic_ns()
    if now - last > 5000:
        stalls.append((last - start, now - last))
    last = now
print(json.dumps({"stalls": stalls,
                  "timer_interrupts": timer_interrupts() - before}))
"""


GRID_SPIN = r"""
import json, os, sys, time
seconds, cpu, chunk = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
os.sched_setaffinity(0, {cpu})
try:
    # as rsc-trafgen runs: SCHED_FIFO 50 (refused: SCHED_OTHER, said so)
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
    policy = "SCHED_FIFO/50"
except OSError:
    policy = "SCHED_OTHER"
chunks, done = [], 0.0
while done < seconds:
    # spin in chunks with a pause between: a FIFO thread spinning for a
    # whole second would meet RT throttling, which a pacer that sleeps
    # never does
    start = time.monotonic_ns()
    end = start + int(chunk * 1e9)
    last, stalls = start, []
    while last < end:
        now = time.monotonic_ns()
        if now - last > 2000:
            stalls.append((last, now))
        last = now
    chunks.append({"start": start, "end": last, "stalls": stalls})
    done += chunk
    time.sleep(0.05)
print(json.dumps({"policy": policy, "chunks": chunks}))
"""


def grid_floor(period_ns, seconds=2.0, cpu=None, chunk=0.25):
    """The gap error of an ideal sender on a grid of @period_ns: a thread
    that spins and would send exactly at each grid instant whenever it has
    the CPU, so that it is late only by the stalls it sits in.  Sampled on
    the same grid as the pacers, with the same scheduling as rsc-trafgen.

    Returns {"policy", "slots", "late_slots", "gap_err_p99_us",
    "gap_err_p999_us", "gap_err_max_us"}."""
    if cpu is None:
        cpu = os.cpu_count() - 1
    out = subprocess.run(["/usr/bin/python3", "-c", GRID_SPIN, str(seconds),
                          str(cpu), str(chunk)], check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out)
    errors, late = [], 0
    for c in data["chunks"]:
        stalls = c["stalls"]
        k = 0
        prev = None
        t = c["start"] + period_ns
        while t < c["end"]:
            while k < len(stalls) and stalls[k][1] <= t:
                k += 1
            # inside a stall [a, b): the send waits until b
            lateness = (stalls[k][1] - t
                        if k < len(stalls) and stalls[k][0] < t else 0)
            late += lateness > 0
            if prev is not None:
                errors.append(abs(lateness - prev))
            prev = lateness
            t += period_ns
    errors.sort()

    def q(p):
        if not errors:
            return 0.0
        return errors[min(len(errors) - 1,
                          max(0, int(p * len(errors) + 0.999999) - 1))] / 1e3

    return {"policy": data["policy"], "cpu": cpu, "seconds": seconds,
            "slots": len(errors) + len(data["chunks"]), "late_slots": late,
            "gap_err_p99_us": q(0.99), "gap_err_p999_us": q(0.999),
            "gap_err_max_us": errors[-1] / 1e3 if errors else 0.0}


def densest(stalls, period, window, step=10_000):
    """The stalls in the densest phase window modulo period, and its start."""
    best, best_phase = [], 0
    for phase in range(0, period, step):
        inside = [s for s in stalls
                  if (s[0] - phase) % period < window]
        if len(inside) > len(best):
            best, best_phase = inside, phase
    return best, best_phase


def lengths_us(stalls):
    if not stalls:
        return [0, 0]
    values = sorted(length for _, length in stalls)
    return [values[len(values) // 10] / 1e3, values[len(values) * 9 // 10] / 1e3]


def drift_us_per_s(stalls, period, seconds):
    """How fast the phase of a periodic stall moves against the clock."""
    half = seconds * 1e9 / 2
    phases = [[s[0] % period for s in stalls if (s[0] < half) == first]
              for first in (True, False)]
    if not phases[0] or not phases[1]:
        return 0.0
    # the phases stay within one window: unwrap around the first half's
    ref = sorted(phases[0])[len(phases[0]) // 2]

    def around(p):
        return (p - ref + period // 2) % period - period // 2

    a = sorted(around(p) for p in phases[0])[len(phases[0]) // 2]
    b = sorted(around(p) for p in phases[1])[len(phases[1]) // 2]
    return (b - a) / 1e3 / (seconds / 2)


def measure(seconds=2.0, cpu=None):
    if cpu is None:
        cpu = os.cpu_count() - 1
    out = subprocess.run(["/usr/bin/python3", "-c", SPIN, str(seconds),
                          str(cpu)], check=True, capture_output=True,
                         text=True).stdout
    data = json.loads(out)
    stalls = [tuple(s) for s in data["stalls"]]
    tick1, _ = densest([s for s in stalls if s[1] <= 60_000], 1_000_000,
                       100_000)
    taken = set(tick1)
    rest = [s for s in stalls if s not in taken]
    tick4, _ = densest(rest, 4_000_000, 100_000)
    taken = set(tick4)
    rest = [s for s in rest if s not in taken]
    tick100, _ = densest([s for s in rest if s[1] > 25_000], 100_000_000,
                         3_000_000)
    return {
        "cpu": cpu,
        "seconds": seconds,
        "stalls_over_5us_per_s": len(stalls) / seconds,
        "stalls_over_50us_per_s":
            sum(length > 50_000 for _, length in stalls) / seconds,
        "stalls_over_300us_per_s":
            sum(length > 300_000 for _, length in stalls) / seconds,
        "longest_stall_us": max((l for _, l in stalls), default=0) / 1e3,
        "guest_timer_interrupts_per_s": data["timer_interrupts"] / seconds,
        "every_1ms_per_s": len(tick1) / seconds,
        "every_1ms_length_p10_p90_us": lengths_us(tick1),
        "every_1ms_drift_us_per_s": drift_us_per_s(tick1, 1_000_000, seconds),
        "every_4ms_per_s": len(tick4) / seconds,
        "every_4ms_length_p10_p90_us": lengths_us(tick4),
        "every_100ms_per_s": len(tick100) / seconds,
        "every_100ms_length_p10_p90_us": lengths_us(tick100),
    }


def describe(f):
    return (
        f"a thread spinning on the clock on CPU {f['cpu']} for "
        f"{f['seconds']:.0f} s lost it {f['stalls_over_5us_per_s']:.0f} "
        f"times/s for > 5 us, {f['stalls_over_50us_per_s']:.0f}/s for "
        f"> 50 us, {f['stalls_over_300us_per_s']:.1f}/s for > 300 us "
        f"(longest {f['longest_stall_us']:.0f} us).\n"
        f"  At one phase every 1 ms: {f['every_1ms_per_s']:.0f}/s, "
        "{:.0f}-{:.0f} us (p10-p90), phase drifting {:+.0f} us/s.\n".format(
            *f["every_1ms_length_p10_p90_us"], f["every_1ms_drift_us_per_s"])
        + f"  At one phase every 4 ms: {f['every_4ms_per_s']:.0f}/s, "
        "{:.0f}-{:.0f} us.\n".format(*f["every_4ms_length_p10_p90_us"])
        + f"  At one phase every 100 ms (> 25 us): "
        f"{f['every_100ms_per_s']:.0f}/s, "
        "{:.0f}-{:.0f} us.\n".format(*f["every_100ms_length_p10_p90_us"])
        + f"  Guest timer interrupts on that CPU: "
        f"{f['guest_timer_interrupts_per_s']:.0f}/s.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--cpu", type=int, help="default: the last CPU")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    floor = measure(args.seconds, args.cpu)
    print("Machine stalls: " + describe(floor))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(floor, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
