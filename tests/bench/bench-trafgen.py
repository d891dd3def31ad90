#!/usr/bin/python3
"""Pacing benchmark: rsc-trafgen against hping3 and tcpreplay, same path.

Not a test: it prints figures.  Each tool sends COUNT TCP segments at one
per 100 us over a veth between two network namespaces it creates, and the
gaps between consecutive frames, stamped by the receiving kernel (ns), are
compared with the period.  rsc-trafgen runs twice: as it is, and with
--no-dodge (its grid fixed, stalls not dodged).  Then the unpaced mode is
compared with netsniff-ng's trafgen (frames per second the veth accepted).

Two things keep the receiving side out of what is measured, for every tool
alike.  On a veth the receiver's kernel runs inside the sender's send()
call, so the frames go to a MAC address the receiving veth does not own:
its kernel drops them before IP while the capture still sees them (with
its own address, the whole IP input path would run, and vary, inside every
send, unlike the tap of a VM).
And the capture is a TPACKET_V3 ring the kernel fills in the background;
it is read only once the sender is done, so no receiving process needs a
CPU during the run.  First, it measures the machine's floor: how often a
thread that only reads the clock loses its CPU.

    tests/bench/bench-trafgen.py [--build-dir DIR] [--count N] [--runs R]
        [--unpaced-count N] [--json FILE]
    tests/bench/bench-trafgen.py --ab ROUNDS [--count N] ...

--ab runs only rsc-trafgen, as it is and with --no-dodge, --late-policy
keep and --cpu (the last CPU), interleaved in a random order ROUNDS times
on one path, and prints the medians: a comparison that the machine's
quiet and noisy phases affect alike.

--runs R repeats the paced comparison R times (each with its own floor
and load reading) and ends with one line per run: whether rsc-trafgen's
p99 and p99.9 gap errors beat tcpreplay's and hping3's with no burst
below 50 us, and rsc-trafgen's p99 over the machine's floor in that run.
The floor is an ideal sender sampled on the same 100 us grid: a thread
with rsc-trafgen's scheduling (SCHED_FIFO/50) that spins and would send
exactly on time whenever it has the CPU (machine_stalls.grid_floor).

Needs root.  Installs hping3, tcpreplay and netsniff-ng with apt-get when
they are missing.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine_stalls  # noqa: E402  (beside this script)

PERIOD_NS = 100_000
RSC_INTERVAL_NS = 300_000
PACKAGES = {"hping3": "hping3", "tcpreplay": "tcpreplay",
            "trafgen": "netsniff-ng"}
SRC_IP, DST_IP = "192.0.2.1", "192.0.2.2"
SRC_PORT, DST_PORT = 40000, 5001

# a MAC address the receiving veth does not own (see the docstring)
DST_MAC = "02:00:00:00:00:02"

RECEIVER = r"""
import ctypes, mmap, socket, struct, sys, time
ifname, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SOL_PACKET, PACKET_VERSION, TPACKET_V3, PACKET_RX_RING = 263, 10, 2, 5
SO_ATTACH_FILTER, TP_STATUS_USER = 26, 1
BLOCK, FRAME = 1 << 18, 2048
# a block retires every 100 ms: room for senders down to 2.5k frames/s
# (hping3 falls to 3.5k/s under load)
NBLOCKS = count // 250 + 16
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
# classic BPF "ret #128": keep the headers of every frame, nothing more
insn = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 128))
s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
             struct.pack("HxxxxxxQ", 1, ctypes.addressof(insn)))
s.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
s.setsockopt(SOL_PACKET, PACKET_RX_RING, struct.pack(
    "7I", BLOCK, NBLOCKS, FRAME, BLOCK // FRAME * NBLOCKS, 100, 0, 0))
ring = mmap.mmap(s.fileno(), BLOCK * NBLOCKS)
s.bind((ifname, 0))
print("ready", flush=True)
sys.stdin.readline()  # the sender is done
time.sleep(0.3)       # the last block retires within 100 ms
stamps = []
for blk in range(NBLOCKS):
    base = blk * BLOCK
    status, npkts, first = struct.unpack_from("III", ring, base + 8)
    if not status & TP_STATUS_USER:
        continue
    off = base + first
    for _ in range(npkts):
        nxt, sec, nsec, snap, length, st, mac = struct.unpack_from(
            "IIIIIIH", ring, off)
        d = off + mac
        # IPv4 + TCP to our port only
        if snap >= 54 and ring[d + 23] == 6:
            ihl = (ring[d + 14] & 15) * 4
            if struct.unpack_from(">H", ring, d + 14 + ihl + 2)[0] == 5001:
                stamps.append(sec * 1000000000 + nsec)
        off += nxt
with open(out, "wb") as f:
    f.write(struct.pack(f"{len(stamps)}q", *sorted(stamps)))
"""


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          **kw)


def ensure_tools():
    missing = [pkg for tool, pkg in PACKAGES.items()
               if shutil.which(tool) is None]
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing,
                       check=True, env=dict(os.environ,
                                            DEBIAN_FRONTEND="noninteractive"))


class Path2:
    """Two namespaces and a veth; IPv6 off so only our frames flow."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.tx, self.rx = f"bntx{tag}", f"bnrx{tag}"
        self.a, self.b = f"bna{tag}", f"bnb{tag}"

    def __enter__(self):
        try:
            return self._setup()
        except BaseException:
            self.__exit__()
            raise

    def _setup(self):
        sh("ip", "netns", "add", self.tx)
        sh("ip", "netns", "add", self.rx)
        sh("ip", "link", "add", self.a, "netns", self.tx, "type", "veth",
           "peer", "name", self.b, "netns", self.rx)
        for ns, dev in ((self.tx, self.a), (self.rx, self.b)):
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
               f"net.ipv6.conf.{dev}.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        # hping3 needs a route and a neighbour; the receiver has no address
        # so its kernel drops the frames without answering
        sh("ip", "-n", self.tx, "addr", "add", f"{SRC_IP}/24", "dev", self.a)
        self.tx_mac = json.loads(sh("ip", "-n", self.tx, "-j", "link", "show",
                                    self.a).stdout)[0]["address"]
        sh("ip", "-n", self.tx, "neigh", "add", DST_IP, "lladdr",
           DST_MAC, "dev", self.a)
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.tx], check=False)
        subprocess.run(["ip", "netns", "del", self.rx], check=False)

    def tx_packets(self):
        out = sh("ip", "-n", self.tx, "-j", "-s", "link", "show", self.a)
        return json.loads(out.stdout)[0]["stats64"]["tx"]["packets"]


def measure(path, count, cmd):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        stamps_file = f.name
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", path.rx, "/usr/bin/python3", "-c", RECEIVER,
         path.b, str(count), stamps_file], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        if receiver.stdout.readline().strip() != "ready":
            raise RuntimeError("the capture ring could not be set up")
        usage_before = os.times()
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - start
        usage_after = os.times()
        # hping3 exits 1 when nothing answers: our receiver never does
        answered = "packets transmitted" in proc.stdout + proc.stderr
        if proc.returncode != 0 and not answered:
            raise RuntimeError(f"{' '.join(cmd[4:6])} failed: "
                               f"{proc.stderr.strip()[:300]}")
        receiver.communicate("done\n", timeout=120)
        data = Path(stamps_file).read_bytes()
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        os.unlink(stamps_file)
    cpu = ((usage_after.children_user - usage_before.children_user)
           + (usage_after.children_system - usage_before.children_system))
    stamps = list(struct.unpack(f"{len(data) // 8}q", data))
    if len(stamps) < count:
        raise RuntimeError(f"captured {len(stamps)} of {count} frames")
    return stats(stamps, count, cpu, wall), proc.stdout


def pct(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1,
                   int(q * len(sorted_values) + 0.999999) - 1))
    return sorted_values[k]


def stats(stamps, sent, cpu, wall):
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    err = sorted(abs(g - PERIOD_NS) for g in gaps)
    gaps_sorted = sorted(gaps)
    span = (stamps[-1] - stamps[0]) / 1e9 if len(stamps) > 1 else 0
    return {
        "sent": sent, "received": len(stamps),
        "rate_per_s": (len(stamps) - 1) / span if span else 0,
        "gap_p50_us": pct(gaps_sorted, 0.5) / 1e3,
        "gap_err_p99_us": pct(err, 0.99) / 1e3,
        "gap_err_p999_us": pct(err, 0.999) / 1e3,
        "gap_max_us": (gaps_sorted[-1] / 1e3) if gaps else float("nan"),
        "gaps_over_300us": sum(g > RSC_INTERVAL_NS for g in gaps),
        "bursts_below_50us": sum(g < PERIOD_NS // 2 for g in gaps),
        "cpu_percent": 100 * cpu / span if span else float("nan"),
        "wall_s": wall,
    }


def frame_hex(trafgen, path, tmp):
    """One 1000-byte-payload segment of ours, for netsniff-ng's config."""
    pcap = tmp / "one.pcap"
    sh(str(trafgen), "--pcap", str(pcap), "--count", "1", "--dst-mac",
       DST_MAC, "--src-mac", path.tx_mac, "-q")
    data = pcap.read_bytes()
    caplen = struct.unpack_from("<I", data, 24 + 8)[0]
    return data[24 + 16:24 + 16 + caplen]


AB_VARIANTS = {
    "rsc-trafgen": [],
    "--no-dodge": ["--no-dodge"],
    "--late-policy keep": ["--late-policy", "keep"],
    "--cpu (last)": ["--cpu", str(os.cpu_count() - 1)],
}


def ab(trafgen, count, rounds):
    runs = {name: [] for name in AB_VARIANTS}
    with Path2() as path:
        for r in range(rounds):
            order = list(AB_VARIANTS)
            random.shuffle(order)
            print(f"bench-trafgen: round {r + 1} of {rounds}: "
                  f"{', '.join(order)}", file=sys.stderr, flush=True)
            for name in order:
                cmd = ["ip", "netns", "exec", path.tx, str(trafgen),
                       "--iface", path.a, "--count", str(count), "--dst-mac",
                       DST_MAC, "-q"] + AB_VARIANTS[name]
                runs[name].append(measure(path, count, cmd)[0])
    print(f"\n{rounds} interleaved rounds of {count} segments at 100 us; "
          "medians (and p99 per round)\n")
    print(f"{'variant':22}{'p99 us':>9}{'p99.9 us':>10}{'>300 us':>9}"
          f"{'<50 us':>8}{'CPU %':>7}  p99 per round")
    for name, rs in runs.items():
        def med(key):
            return statistics.median(x[key] for x in rs)
        print(f"{name:22}{med('gap_err_p99_us'):>9.1f}"
              f"{med('gap_err_p999_us'):>10.1f}{med('gaps_over_300us'):>9.1f}"
              f"{med('bursts_below_50us'):>8.1f}{med('cpu_percent'):>7.1f}  "
              + " ".join(f"{x['gap_err_p99_us']:.1f}" for x in rs))
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.environ.get(
        "RIG_BUILD_DIR", str(Path(__file__).resolve().parents[2] / "build")))
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--unpaced-count", type=int, default=500000)
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the paced comparison (verdict per run)")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--ab", type=int, metavar="ROUNDS",
                    help="only rsc-trafgen variants, interleaved (above)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-trafgen: needs root (namespaces, raw sockets)")
    trafgen = Path(args.build_dir) / "rig/trafgen/rsc-trafgen"
    if not trafgen.is_file():
        sys.exit(f"bench-trafgen: {trafgen} is not built (meson compile)")
    if args.ab:
        runs = ab(trafgen, args.count, args.ab)
        if args.json:
            Path(args.json).write_text(json.dumps(runs, indent=2))
        return
    ensure_tools()
    if args.runs < 1:
        sys.exit("bench-trafgen: --runs must be at least 1")
    verdicts = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"\n=== run {run + 1} of {args.runs} ===", flush=True)
        results = one_run(args, trafgen, unpaced=run == args.runs - 1)
        verdicts.append(verdict(results))
        if args.json:
            Path(args.json if args.runs == 1 else
                 f"{args.json}.{run + 1}").write_text(
                json.dumps(results, indent=2))
    if args.runs > 1:
        print("\nPer run (rsc-trafgen against tcpreplay and hping3 in the "
              "same run):")
        for i, v in enumerate(verdicts, 1):
            print(f"  run {i}: {v}")


def verdict(results):
    """One line: who wins this run, and how far rsc-trafgen is from the
    machine's floor."""
    ours = results.get("rsc-trafgen", {})
    if "error" in ours or not ours:
        return "rsc-trafgen failed: " + ours.get("error", "no result")
    wins = []
    for name in ("tcpreplay --pps=10000", "hping3 -i u100"):
        other = results.get(name, {})
        if "error" in other or not other:
            wins.append(f"{name}: no result")
            continue
        ok = (ours["gap_err_p99_us"] < other["gap_err_p99_us"] and
              ours["gap_err_p999_us"] < other["gap_err_p999_us"])
        wins.append(f"{'beats' if ok else 'LOSES TO'} {name.split()[0]} "
                    f"({other['gap_err_p99_us']:.1f}/"
                    f"{other['gap_err_p999_us']:.1f})")
    floor = results["grid_floor"]["gap_err_p99_us"]
    return (f"load {results['load']}; rsc-trafgen p99/p99.9 "
            f"{ours['gap_err_p99_us']:.1f}/{ours['gap_err_p999_us']:.1f} us, "
            f"{ours['bursts_below_50us']} bursts < 50 us, "
            f"CPU {ours['cpu_percent']:.0f} %; " + "; ".join(wins)
            + f"; p99 / floor {ours['gap_err_p99_us'] / max(floor, 1e-3):.2f}"
            f" (floor p99 {floor:.1f} us)")


def one_run(args, trafgen, unpaced=True):
    n = args.count
    results = {"load": " ".join(Path("/proc/loadavg").read_text()
                                .split()[:3]),
               "machine_floor": machine_stalls.measure(),
               "grid_floor": machine_stalls.grid_floor(PERIOD_NS)}
    with Path2() as path, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        ex = ["ip", "netns", "exec", path.tx]
        replay = tmp / "replay.pcap"
        sh(str(trafgen), "--pcap", str(replay), "--count", str(n),
           "--dst-mac", DST_MAC, "--src-mac", path.tx_mac, "-q")
        ours = ex + [str(trafgen), "--iface", path.a, "--pattern", "whql",
                     "--count", str(n), "--period-us", "100", "--dst-mac",
                     DST_MAC, "--json", "-", "-q"]
        tools = {
            "rsc-trafgen": ours,
            "rsc-trafgen --no-dodge": ours + ["--no-dodge"],
            "hping3 -i u100": ex + ["hping3", "-q", "-A", "-i", "u100", "-c",
                                    str(n), "-d", "1000", "-s",
                                    str(SRC_PORT), "-k", "-p", str(DST_PORT),
                                    DST_IP],
            "tcpreplay --pps=10000": ex + ["tcpreplay", "-q", "-i", path.a,
                                           "--pps=10000", str(replay)],
        }
        for name, cmd in tools.items():
            print(f"bench-trafgen: {name}: {n} segments at 100 us ...",
                  file=sys.stderr, flush=True)
            try:
                results[name], out = measure(path, n, cmd)
            except (RuntimeError, AssertionError) as e:
                results[name] = {"error": str(e)}
                continue
            if name.startswith("rsc-trafgen"):
                own = json.loads(out)
                results[name]["self_report"] = {
                    "scheduling": own["scheduling"],
                    "late_slots": own["late_slots"],
                    "gap_error_p99_us": own["gap_error"]["p99_ns"] / 1e3,
                    "cpu_percent": own["cpu_percent"],
                    "stall_dodging": own["stall_dodging"],
                }

        if not unpaced:
            report(results, n, {})
            return results
        # unpaced: frames/s the veth accepted
        m = args.unpaced_count
        cfg = tmp / "frame.cfg"
        frame = frame_hex(trafgen, path, tmp)
        cfg.write_text("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")
        unpaced = {
            "rsc-trafgen --unpaced": ex + [str(trafgen), "--iface", path.a,
                                           "--count", str(m), "--unpaced",
                                           "--dst-mac", DST_MAC, "-q"],
            # one process per CPU by default: also shown with one process
            "netsniff-ng trafgen": ex + ["trafgen", "-o", path.a, "-i",
                                         str(cfg), "-n", str(m)],
            "netsniff-ng trafgen -P 1": ex + ["trafgen", "-o", path.a, "-i",
                                              str(cfg), "-n", str(m), "-P",
                                              "1"],
        }
        for name, cmd in unpaced.items():
            print(f"bench-trafgen: {name}: {m} frames unpaced ...",
                  file=sys.stderr, flush=True)
            before = path.tx_packets()
            start = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.monotonic() - start
            sent = path.tx_packets() - before
            results[name] = {"frames": sent, "wall_s": wall,
                             "frames_per_s": sent / wall,
                             "exit": proc.returncode}
    report(results, n, unpaced)
    return results


def report(results, n, unpaced):
    print(f"\nLoad (1, 5, 15 min): {results['load']}")
    print("\nMachine floor: " + machine_stalls.describe(results["machine_floor"]))
    g = results["grid_floor"]
    print(f"Floor on the 100 us grid ({g['policy']} spinner on CPU {g['cpu']}, "
          f"{g['slots']} slots, {g['late_slots']} in a stall): gap error p99 "
          f"{g['gap_err_p99_us']:.1f} us, p99.9 {g['gap_err_p999_us']:.1f} us, "
          f"max {g['gap_err_max_us']:.0f} us")
    print(f"\nPaced: {n} segments of 1000 bytes, period 100 us, veth between"
          " two namespaces,\ngaps from receive-side kernel timestamps (ns)\n")
    cols = ["received", "rate_per_s", "gap_p50_us", "gap_err_p99_us",
            "gap_err_p999_us", "gap_max_us", "gaps_over_300us",
            "bursts_below_50us", "cpu_percent"]
    print(f"{'tool':24}" + "".join(f"{c:>18}" for c in cols))
    for name in ["rsc-trafgen", "rsc-trafgen --no-dodge", "hping3 -i u100",
                 "tcpreplay --pps=10000"]:
        r = results[name]
        if "error" in r:
            print(f"{name:24}  error: {r['error']}")
            continue
        print(f"{name:24}" + "".join(
            f"{r[c]:>18.2f}" if isinstance(r[c], float) else f"{r[c]:>18}"
            for c in cols))
    ours, hping = results["rsc-trafgen"], results["hping3 -i u100"]
    if "error" not in ours and "error" not in hping:
        ratio = hping["gap_err_p99_us"] / max(ours["gap_err_p99_us"], 1e-3)
        results["p99_gap_error_ratio_hping3_over_ours"] = ratio
        print(f"\np99 gap error, hping3 / rsc-trafgen: {ratio:.1f}x")
    if "error" not in ours:
        ratio = ours["gap_err_p99_us"] / max(g["gap_err_p99_us"], 1e-3)
        results["p99_gap_error_ratio_ours_over_floor"] = ratio
        print(f"p99 gap error, rsc-trafgen / the machine's floor: {ratio:.2f}x")
    if "self_report" in ours:
        d = ours["self_report"]["stall_dodging"]
        print(f"rsc-trafgen stall dodging: {d['probes']} probes saw "
              f"{d['stalls_seen']} stalls, {d['moves']} moves (offset at most "
              f"{d['max_abs_offset_ns'] / 1e3:.0f} us), {d['unavoidable']} "
              "probes found no clear offset")
    if not unpaced:
        return
    print("\nUnpaced (frames/s accepted by the veth):")
    for name in unpaced:
        r = results[name]
        print(f"  {name:26} {r['frames_per_s']:>12.0f} frames/s "
              f"({r['frames']} in {r['wall_s']:.2f} s, exit {r['exit']})")
    ours = results["rsc-trafgen --unpaced"]["frames_per_s"]
    for name in ["netsniff-ng trafgen", "netsniff-ng trafgen -P 1"]:
        theirs = results[name]["frames_per_s"]
        ratio = ours / theirs if theirs else 0
        results[f"unpaced_ratio_ours_over_{name}"] = ratio
        print(f"  ratio rsc-trafgen / {name}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
