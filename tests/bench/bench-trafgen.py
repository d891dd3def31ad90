#!/usr/bin/python3
"""Pacing benchmark: rsc-trafgen against hping3 and tcpreplay, same path.

Not a test: it prints figures.  Each tool sends COUNT TCP segments at one
per 100 us over a veth between two network namespaces it creates; a
receiver in the other namespace stamps every frame in the kernel
(SO_TIMESTAMPNS, nanoseconds) and the gaps between consecutive frames are
compared with the period.  Then the unpaced mode is compared with
netsniff-ng's trafgen (frames per second the veth accepted).

    tests/bench/bench-trafgen.py [--build-dir DIR] [--count N]
        [--unpaced-count N] [--json FILE]

Needs root.  Installs hping3, tcpreplay and netsniff-ng with apt-get when
they are missing.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PERIOD_NS = 100_000
RSC_INTERVAL_NS = 300_000
PACKAGES = {"hping3": "hping3", "tcpreplay": "tcpreplay",
            "trafgen": "netsniff-ng"}
SRC_IP, DST_IP = "192.0.2.1", "192.0.2.2"
SRC_PORT, DST_PORT = 40000, 5001

RECEIVER = r"""
import socket, struct, sys
ifname, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)       # SO_RCVBUFFORCE
s.setsockopt(socket.SOL_SOCKET, 35, 1)              # SO_TIMESTAMPNS
s.bind((ifname, 0))
print("ready", flush=True)
stamps = []
s.settimeout(60)
while len(stamps) < count:
    try:
        data, anc, _, addr = s.recvmsg(2048, 64)
    except socket.timeout:
        break
    s.settimeout(2)
    # IPv4 + TCP to our port only
    if addr[2] == 4 or len(data) < 54 or data[23] != 6:
        continue
    ihl = (data[14] & 15) * 4
    if struct.unpack_from(">H", data, 14 + ihl + 2)[0] != 5001:
        continue
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == 35:
            sec, nsec = struct.unpack("qq", value[:16])
            stamps.append(sec * 1000000000 + nsec)
with open(out, "wb") as f:
    f.write(struct.pack(f"{len(stamps)}q", *stamps))
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
        self.rx_mac = json.loads(sh("ip", "-n", self.rx, "-j", "link", "show",
                                    self.b).stdout)[0]["address"]
        self.tx_mac = json.loads(sh("ip", "-n", self.tx, "-j", "link", "show",
                                    self.a).stdout)[0]["address"]
        sh("ip", "-n", self.tx, "neigh", "add", DST_IP, "lladdr",
           self.rx_mac, "dev", self.a)
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
         path.b, str(count), stamps_file], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
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
        receiver.wait(timeout=120)
        data = Path(stamps_file).read_bytes()
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        os.unlink(stamps_file)
    cpu = ((usage_after.children_user - usage_before.children_user)
           + (usage_after.children_system - usage_before.children_system))
    stamps = list(struct.unpack(f"{len(data) // 8}q", data))
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
       path.rx_mac, "--src-mac", path.tx_mac, "-q")
    data = pcap.read_bytes()
    caplen = struct.unpack_from("<I", data, 24 + 8)[0]
    return data[24 + 16:24 + 16 + caplen]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.environ.get(
        "RIG_BUILD_DIR", str(Path(__file__).resolve().parents[2] / "build")))
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--unpaced-count", type=int, default=500000)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-trafgen: needs root (namespaces, raw sockets)")
    trafgen = Path(args.build_dir) / "rig/trafgen/rsc-trafgen"
    if not trafgen.is_file():
        sys.exit(f"bench-trafgen: {trafgen} is not built (meson compile)")
    ensure_tools()
    n = args.count
    results = {}
    with Path2() as path, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        ex = ["ip", "netns", "exec", path.tx]
        replay = tmp / "replay.pcap"
        sh(str(trafgen), "--pcap", str(replay), "--count", str(n),
           "--dst-mac", path.rx_mac, "--src-mac", path.tx_mac, "-q")
        tools = {
            "rsc-trafgen": ex + [str(trafgen), "--iface", path.a,
                                 "--pattern", "whql", "--count", str(n),
                                 "--period-us", "100", "--dst-mac",
                                 path.rx_mac, "--json", "-", "-q"],
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
            if name == "rsc-trafgen":
                own = json.loads(out)
                results[name]["self_report"] = {
                    "scheduling": own["scheduling"],
                    "late_slots": own["late_slots"],
                    "gap_error_p99_us": own["gap_error"]["p99_ns"] / 1e3,
                    "cpu_percent": own["cpu_percent"],
                }

        # unpaced: frames/s the veth accepted
        m = args.unpaced_count
        cfg = tmp / "frame.cfg"
        frame = frame_hex(trafgen, path, tmp)
        cfg.write_text("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")
        unpaced = {
            "rsc-trafgen --unpaced": ex + [str(trafgen), "--iface", path.a,
                                           "--count", str(m), "--unpaced",
                                           "--dst-mac", path.rx_mac, "-q"],
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

    print(f"\nPaced: {n} segments of 1000 bytes, period 100 us, veth between"
          " two namespaces,\ngaps from receive-side kernel timestamps (ns)\n")
    cols = ["received", "rate_per_s", "gap_p50_us", "gap_err_p99_us",
            "gap_err_p999_us", "gap_max_us", "gaps_over_300us",
            "bursts_below_50us", "cpu_percent"]
    print(f"{'tool':24}" + "".join(f"{c:>18}" for c in cols))
    for name in ["rsc-trafgen", "hping3 -i u100", "tcpreplay --pps=10000"]:
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
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
