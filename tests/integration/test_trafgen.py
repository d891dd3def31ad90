"""rsc-trafgen on real interfaces.

Every test builds its own pair of network namespaces joined by a veth:
"tx" (the generator; no IP address, so its kernel never answers for the
generator's address) and "rx" (capture, or a real Linux TCP receiver).
Frames are captured with a packet socket on the rx side (written as pcap
with kernel timestamps), decoded with tshark and compared with an
independent Python expansion of the pattern: count, order, TCP flags,
seq/ack, window, lengths, IP knobs and checksum status.
No test asserts timing: pacing figures belong to tests/bench.
"""

import json
import socket
import struct
import subprocess

import pytest

from conftest import have_tool, netns, require, rig_binary, unique_name

SRC_MAC = "02:00:00:00:00:01"
ISN = 1000000
ACK0 = 5000
WIN0 = 29200
TSHARK_FIELDS = [
    "frame.len", "ip.flags.df", "ip.flags.mf", "ip.hdr_len",
    "ip.dsfield.ecn", "ip.checksum.status", "ipv6.tclass.ecn", "ipv6.nxt",
    "tcp.srcport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len",
    "tcp.window_size_value", "tcp.urgent_pointer", "tcp.checksum.status",
    "tcp.options.timestamp.tsval", "udp.length", "udp.checksum.status",
    "eth.type", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4",
    "arp.dst.hw_mac", "arp.dst.proto_ipv4",
]
CHECKSUM_GOOD = "1"
CHECKSUM_BAD = "0"
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
KNOB_FLAGS = {"fin": FIN, "syn": SYN, "rst": RST, "psh": PSH, "urg": URG,
              "ece": ECE, "cwr": CWR}


def expand(text, payload=1000, flow=0):
    """Independent expansion of the pattern grammar (see --help)."""
    isn = ISN * (flow + 1)
    nxt, ack, win, tsval = isn + 1, ACK0 + 1000 * flow, WIN0, 1
    last = (nxt, 0)
    out = []
    for step in text.split(","):
        parts = step.strip().split(":")
        kind, _, count = parts[0].partition("*")
        knobs = dict(p.partition("=")[::2] for p in parts[1:])
        for _ in range(int(count or 1)):
            if "win" in knobs:
                win = int(knobs["win"])
            length = int(knobs.get("len", payload))
            seg = {"kind": kind, "seq": nxt, "ack": ack, "win": win,
                   "flags": ACK, "len": 0, "knobs": knobs, "urg": 0,
                   "tsval": None}
            if kind == "data":
                seg["len"] = length
                if "seq" not in knobs:
                    last = (nxt, length)
                    nxt += length
            elif kind == "ack":
                ack += int(knobs.get("adv", 100))
                seg["ack"] = ack
            elif kind == "winupd":
                if "win" not in knobs:
                    win = (win + 1024) & 0xFFFF
                seg["win"] = win
            elif kind == "syn":
                seg["flags"] = SYN
            elif kind == "fin":
                seg["flags"] = FIN | ACK
                seg["len"] = int(knobs.get("len", 0))
                nxt += seg["len"] + 1
            elif kind == "rst":
                seg["flags"] = RST | ACK
            elif kind == "retx":
                seg["seq"], seg["len"] = last
            elif kind == "ooo":
                seg["seq"], seg["len"] = nxt + length, length
            elif kind == "udp":
                seg["len"] = length
            elif kind == "arp":
                # not TCP: no seq space, no payload, knobs ignored
                seg.update(seq=0, ack=0, win=0, flags=0, knobs={})
                out.append(seg)
                continue
            elif kind != "dupack":
                raise AssertionError(f"oracle does not know step {kind}")
            for name, bit in KNOB_FLAGS.items():
                if name in knobs:
                    seg["flags"] |= bit
            if "seq" in knobs:
                seg["seq"] += int(knobs["seq"])
            if "ack" in knobs:
                seg["ack"] += int(knobs["ack"])
            if seg["flags"] & URG:
                seg["urg"] = seg["len"]
            if "ts" in knobs:
                seg["tsval"] = tsval
                tsval += 1
            seg["seq"] &= 0xFFFFFFFF
            seg["ack"] &= 0xFFFFFFFF
            out.append(seg)
    return out


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


@pytest.fixture
def trafgen(build_dir):
    return rig_binary(build_dir, "rig/trafgen/rsc-trafgen")


@pytest.fixture
def veth(root):
    """(tx namespace, tx interface, rx namespace, rx interface)."""
    with netns(unique_name("tgtx")) as tx, netns(unique_name("tgrx")) as rx:
        a, b = unique_name("tga"), unique_name("tgb")
        subprocess.run(["ip", "link", "add", a, "netns", tx, "type", "veth",
                        "peer", "name", b, "netns", rx], check=True)
        yield tx, a, rx, b


def link_up(ns, ifname, ipv6_on=False):
    # without IPv6 the kernels stay silent: the capture holds our frames
    if not ipv6_on:
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                        f"net.ipv6.conf.{ifname}.disable_ipv6=1"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", ifname, "up"], check=True)


CAPTURE = r"""
import select, signal, socket, struct, sys, time
ifname, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)      # SO_RCVBUFFORCE
s.setsockopt(socket.SOL_SOCKET, 35, 1)             # SO_TIMESTAMPNS
s.bind((ifname, 0))
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
print("ready", flush=True)   # bound: from here on every frame is queued
frames, deadline = [], time.monotonic() + 60

def take():
    data, anc, _, _ = s.recvmsg(262144, 64)
    ts = 0
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == 35:
            sec, nsec = struct.unpack("qq", value[:16])
            ts = sec * 1000000000 + nsec
    frames.append((ts, data))

while not stop and (count == 0 or len(frames) < count):
    if time.monotonic() > deadline:
        break
    if select.select([s], [], [], 0.2)[0]:
        take()
s.setblocking(False)
while count == 0 or len(frames) < count:
    try:
        take()
    except BlockingIOError:
        break
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
    for ts, data in frames:
        f.write(struct.pack("<IIII", ts // 1000000000, ts % 1000000000,
                            len(data), len(data)) + data)
"""


class Capture:
    """A packet socket in a namespace writing a pcap (ns timestamps).

    It reports ready once bound, so no frame sent afterwards is missed
    (dumpcap says "Capturing on" before its socket is live).  It stops
    after @count frames (0: when stopped).
    """

    def __init__(self, ns, ifname, path, count):
        self.path = path
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", CAPTURE,
             ifname, str(count), str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line != "ready\n":
            self.proc.kill()
            raise AssertionError(f"capture did not start: "
                                 f"{self.proc.stderr.read()}")

    def wait(self):
        try:
            self.proc.wait(timeout=90)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.returncode == 0, self.proc.stderr.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.wait()


def read_pcap(path, with_time=False):
    """Frames (or (ns, frame)) of a classic pcap file (us or ns magic)."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), hex(magic)
    scale = 1 if magic == 0xA1B23C4D else 1000
    frames, off = [], 24
    while off < len(data):
        sec, frac, caplen, _ = struct.unpack_from("<IIII", data, off)
        frame = data[off + 16:off + 16 + caplen]
        frames.append((sec * 10**9 + frac * scale, frame) if with_time
                      else frame)
        off += 16 + caplen
    return frames


def decode(path):
    require(have_tool("tshark"), "tshark is not installed")
    out = run(["tshark", "-r", str(path), "-o", "tcp.check_checksum:TRUE",
               "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
               "-o", "tcp.analyze_sequence_numbers:FALSE", "-T", "fields",
               "-E", "separator=|", "-E", "occurrence=f"]
              + [a for f in TSHARK_FIELDS for a in ("-e", f)], check=True)
    return [dict(zip(TSHARK_FIELDS, line.split("|")))
            for line in out.stdout.splitlines()]


def check_frame(i, row, seg, ipv6, src_port=40000):
    knobs = seg["knobs"]
    where = f"frame {i} ({seg['kind']} {knobs})"
    if seg["kind"] == "arp":
        # IPv6 flows ask with the IPv4 default addresses too
        expect = {"frame.len": "60", "eth.type": "0x0806", "arp.opcode": "1",
                  "arp.src.hw_mac": SRC_MAC,
                  "arp.src.proto_ipv4": "192.0.2.1",
                  "arp.dst.hw_mac": "00:00:00:00:00:00",
                  "arp.dst.proto_ipv4": "192.0.2.2"}
        got = {k: row[k] for k in expect}
        assert got == expect, f"{where}: expected {expect}, got {got}"
        return
    assert row["eth.type"] in ("0x0800", "0x86dd"), where
    if "trunc" in knobs:
        assert int(row["frame.len"]) == int(knobs["trunc"]), where
        return
    if not ipv6:
        assert row["ip.flags.df"] == ("0" if "nodf" in knobs
                                      or "frag" in knobs else "1"), where
        assert row["ip.flags.mf"] == ("1" if "frag" in knobs else "0"), where
        assert row["ip.hdr_len"] == ("24" if "ipopt" in knobs else "20"), where
        assert row["ip.dsfield.ecn"] == ("3" if "ecn" in knobs else "0"), where
        assert row["ip.checksum.status"] == (
            CHECKSUM_BAD if "badipcsum" in knobs else CHECKSUM_GOOD), where
    else:
        assert row["ipv6.tclass.ecn"] == ("3" if "ecn" in knobs else "0"), where
        first = "0" if "exthdr" in knobs else "44" if "frag" in knobs else (
            "17" if seg["kind"] == "udp" else "6")
        assert row["ipv6.nxt"] == first, where
    if "frag" in knobs or "iplen" in knobs:
        return  # tshark does not dissect TCP in these on purpose
    if seg["kind"] == "udp":
        assert int(row["udp.length"]) == 8 + seg["len"], where
        assert row["udp.checksum.status"] == CHECKSUM_GOOD, where
        return
    expect = {
        "tcp.srcport": str(src_port),
        "tcp.seq_raw": str(seg["seq"]), "tcp.ack_raw": str(seg["ack"]),
        "tcp.flags": f"0x{seg['flags']:04x}", "tcp.len": str(seg["len"]),
        "tcp.window_size_value": str(seg["win"]),
        "tcp.urgent_pointer": str(seg["urg"]),
        "tcp.checksum.status": CHECKSUM_BAD if "badcsum" in knobs
        else CHECKSUM_GOOD,
        "tcp.options.timestamp.tsval":
            "" if seg["tsval"] is None else str(seg["tsval"]),
    }
    got = {k: row[k] for k in expect}
    assert got == expect, f"{where}: expected {expect}, got {got}"


def builtin_text(trafgen, name, ipv6, count=1):
    """The expansion rsc-trafgen prints in its JSON report."""
    out = run([str(trafgen), "--pcap", "/dev/null", "--pattern", name,
               "--count", str(count), "-q", "--json", "-"]
              + (["--ipv6"] if ipv6 else []), check=True)
    return json.loads(out.stdout)["pattern"]


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "ipv6"])
def test_every_pattern_over_veth(trafgen, veth, tmp_path, ipv6):
    tx, a, rx, b = veth
    link_up(tx, a)
    link_up(rx, b)
    text = builtin_text(trafgen, "all", ipv6)
    segs = expand(text)
    # every case of the issue is in "all"
    for case in ["syn", "fin", "rst", "urg", "ece", "cwr", "psh", "dupack",
                 "winupd", "retx", "ooo", "seq=+70000", "ack=+70000", "ts",
                 "frag", "ecn", "udp", "arp", "data*48:len=14", "badcsum",
                 "iplen=short", "iplen=long", "trunc"]:
        assert case in text, case
    assert ("exthdr" in text) == ipv6 and ("ipopt" in text) != ipv6
    family = ["--ipv6"] if ipv6 else []

    ref = tmp_path / "offline.pcap"
    run([str(trafgen), "--pcap", str(ref), "--pattern", "all", "-q"] + family,
        check=True)
    cap = Capture(rx, b, tmp_path / "rx.pcap", len(segs))
    report = tmp_path / "report.json"
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--pattern", "all", "--period-us", "200", "--json",
               str(report)] + family)
    assert res.returncode == 0, res.stderr
    cap.wait()

    # the wire carries exactly the frames of the offline schedule
    wire = read_pcap(tmp_path / "rx.pcap")
    assert len(wire) == len(segs)
    assert wire == read_pcap(ref)
    rows = decode(tmp_path / "rx.pcap")
    assert len(rows) == len(segs)
    for i, (row, seg) in enumerate(zip(rows, segs)):
        check_frame(i, row, seg, ipv6)

    data = json.loads(report.read_text())
    assert data["frames"] == len(segs)
    assert data["flows"][0]["frames"] == len(segs)
    assert data["flows"][0]["segments"] == sum(
        1 for s in segs if s["kind"] not in ("udp", "arp"))
    assert data["flows"][0]["payload_bytes"] == sum(s["len"] for s in segs)
    assert data["send_errors"] == 0
    for key in ["lateness", "gap", "gap_error"]:
        assert set(data[key]) >= {"p50_ns", "p99_ns", "p999_ns", "max_ns"}
    assert data["scheduling"].startswith("SCHED_")


def test_whql_concurrent_flows(trafgen, veth, tmp_path):
    tx, a, rx, b = veth
    link_up(tx, a)
    link_up(rx, b)
    flows, count = 3, 150
    cap = Capture(rx, b, tmp_path / "rx.pcap", flows * count)
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--pattern", "whql", "--count", str(count), "--flows",
               str(flows), "--payload", "1448", "--dst-mac",
               "52:54:00:12:34:56", "--src-ip", "198.51.100.7", "--dst-ip",
               "198.51.100.8", "--json", "-", "-q"])
    assert res.returncode == 0, res.stderr
    cap.wait()
    report = json.loads(res.stdout)
    assert [f["segments"] for f in report["flows"]] == [count] * flows
    rows = decode(tmp_path / "rx.pcap")
    assert len(rows) == flows * count
    for flow in range(flows):
        mine = [r for r in rows if r["tcp.srcport"] == str(40000 + flow)]
        segs = expand(f"data*{count}", payload=1448, flow=flow)
        assert len(mine) == count
        for i, (row, seg) in enumerate(zip(mine, segs)):
            check_frame(i, row, seg, False, src_port=40000 + flow)
    # flows interleave slot by slot: flow 0, 1, 2, 0, 1, 2, ...
    assert [r["tcp.srcport"] for r in rows[:6]] == [
        str(40000 + k % flows) for k in range(6)]
    out = run(["tshark", "-r", str(tmp_path / "rx.pcap"), "-T", "fields",
               "-e", "eth.dst", "-e", "ip.src", "-e", "ip.dst", "-c", "1"],
              check=True).stdout.split()
    assert out == ["52:54:00:12:34:56", "198.51.100.7", "198.51.100.8"]


def test_stall_dodging_and_catchup(trafgen, veth, tmp_path):
    """The default pacing: grid moved away from stalls, never a burst."""
    tx, a, rx, b = veth
    link_up(tx, a)
    link_up(rx, b)
    count = 3000
    cap = Capture(rx, b, tmp_path / "rx.pcap", count)
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--count", str(count), "--json", "-", "-q"])
    assert res.returncode == 0, res.stderr
    cap.wait()
    report = json.loads(res.stdout)
    dodge = report["stall_dodging"]
    assert report["late_policy"] == "catchup"
    assert report["guard_ns"] == 85000
    assert dodge["enabled"]
    # one probe of the whole window, then one per 53 ms over 0.3 s
    assert dodge["probes"] >= 1 + 300 // 53
    assert dodge["max_abs_offset_ns"] <= 45000
    assert abs(dodge["offset_ns"]) <= dodge["max_abs_offset_ns"]
    assert dodge["moves"] <= dodge["probes"]
    stamps = [t for t, _ in read_pcap(tmp_path / "rx.pcap", with_time=True)]
    assert len(stamps) == count
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    # catchup: a late slot's followers come no closer than 3/4 of a period
    # (dodging moves earlier by at most 40 %): no burst, whatever stalled
    assert min(gaps) >= 50000, sorted(gaps)[:5]
    # the offset is bounded: no drift (a stall at the very end aside)
    assert abs((stamps[-1] - stamps[0]) / (count - 1) - 100000) < 3000

    # --no-dodge keeps the grid; a period that does not divide the 4 ms
    # window turns dodging off with a notice
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--count", "200", "--no-dodge", "--json", "-", "-q"])
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert not report["stall_dodging"]["enabled"]
    assert report["stall_dodging"]["probes"] == 0
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--count", "200", "--period-us", "150", "--json", "-", "-q"])
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert not report["stall_dodging"]["enabled"]
    assert "stall dodging off" in report["notice"]
    assert "stall dodging off" in res.stderr


def test_offline_pcap_schedule(trafgen, tmp_path):
    """--pcap: the timestamps are the grid, phase offset included."""
    require(have_tool("tshark"), "tshark is not installed")
    path = tmp_path / "grid.pcap"
    run([str(trafgen), "--pcap", str(path), "--pattern-text",
         "data*3,idle*2,data,fin", "--period-us", "250", "--flows", "2",
         "-q"], check=True)
    out = run(["tshark", "-r", str(path), "-T", "fields", "-e",
               "tcp.srcport"], check=True).stdout
    ports = out.split()
    times = [t for t, _ in read_pcap(path, with_time=True)]
    assert len(times) == len(ports) == 10
    # nanosecond timestamps, exactly on the grid: two flows per slot,
    # slots 3 and 4 idle
    assert [(t - times[0]) / 250000 for t in times] == [
        0, 0, 1, 1, 2, 2, 5, 5, 6, 6]
    assert ports[:4] == ["40000", "40001"] * 2



def test_stream_netdev_framing(trafgen, tmp_path):
    """--stream speaks QEMU's -netdev stream: 4-byte length + frame."""
    path = str(tmp_path / "netdev.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    ref = tmp_path / "ref.pcap"
    run([str(trafgen), "--pcap", str(ref), "--pattern", "oversize", "-q"],
        check=True)
    proc = subprocess.Popen([str(trafgen), "--stream", f"unix:{path}",
                             "--pattern", "oversize", "--period-us", "50",
                             "-q", "--no-realtime"],
                            stderr=subprocess.PIPE, text=True)
    try:
        server.settimeout(30)
        conn, _ = server.accept()
        conn.settimeout(30)
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        conn.close()
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
    frames, off = [], 0
    while off < len(data):
        (length,) = struct.unpack_from(">I", data, off)
        frames.append(data[off + 4:off + 4 + length])
        off += 4 + length
    assert off == len(data)
    assert frames == read_pcap(ref)
    assert len(frames) == 49


def test_dgram_netdev(trafgen, tmp_path):
    """--dgram speaks QEMU's -netdev dgram: one frame per datagram."""
    path = str(tmp_path / "dgram.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    ref = tmp_path / "ref.pcap"
    run([str(trafgen), "--pcap", str(ref), "--pattern", "dupack", "-q"],
        check=True)
    try:
        res = run([str(trafgen), "--dgram", f"unix:{path}", "--pattern",
                   "dupack", "-q", "--no-realtime"], timeout=30)
        assert res.returncode == 0, res.stderr
        expected = read_pcap(ref)
        got = [sock.recv(65536) for _ in expected]
    finally:
        sock.close()
    assert got == expected


def test_unpaced_load(trafgen, veth):
    tx, a, rx, b = veth
    link_up(tx, a)
    link_up(rx, b)

    def tx_packets():
        out = run(["ip", "-n", tx, "-j", "-s", "link", "show", a],
                  check=True).stdout
        return json.loads(out)[0]["stats64"]["tx"]["packets"]

    before = tx_packets()
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--pattern", "whql", "--count", "20000", "--unpaced",
               "--payload", "100", "--json", "-", "-q"])
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["unpaced"] and report["frames"] == 20000
    assert report["scheduling"] == "SCHED_OTHER"
    assert tx_packets() - before == 20000


def test_cli_errors_and_help(trafgen):
    help_text = run([str(trafgen), "--help"], check=True).stdout
    for word in ["--iface", "--pcap", "--stream", "--dgram", "--pattern",
                 "--period-us", "--phase-us", "--guard-us", "--late-policy",
                 "catchup", "--no-dodge", "Stall dodging",
                 "--flows", "--payload", "--dst-mac", "--json", "--live",
                 "--unpaced", "--rsc-interval-us", "STEP  :=", "Exit status"]:
        assert word in help_text, word
    names = json.loads(run([str(trafgen), "--pcap", "/dev/null", "-q",
                            "--json", "-"], check=True).stdout)
    assert names["pattern"] == "data*1000"
    for name in ["whql", "syn", "fin", "rst", "urg", "ece", "cwr", "psh",
                 "pureack", "dupack", "winupdate", "afterack", "ooo",
                 "retrans", "seqoow", "ackoow", "tsopt", "ipopt", "nodf",
                 "frag", "ecn", "exthdr", "nontcp", "nonip", "oversize", "malformed",
                 "all"]:
        assert name in help_text.split("Built-in patterns")[1], name

    def code(*args):
        return run([str(trafgen)] + list(args)).returncode

    assert code("--iface", "no-such-if0", "--count", "1") == 3
    assert code("--pcap", "/dev/null", "--pattern", "nosuch") == 2
    assert code("--pcap", "/dev/null", "--pattern-text", "data:bogus") == 2
    assert code("--pcap", "/dev/null", "--pattern", "ipopt", "--ipv6") == 2
    assert code("--pcap", "/dev/null", "--iface", "lo") == 2
    assert code("--pcap", "/dev/null", "--late-policy", "sometimes") == 2
    assert code("--pcap", "/nonexistent-dir/x.pcap") == 3
    assert code("--stream", "unix:/nonexistent-dir/sock") == 3


def test_send_error_exits_nonzero(trafgen, veth):
    """A frame the interface refuses (over its MTU) is a send error."""
    tx, a, rx, b = veth
    link_up(tx, a)
    link_up(rx, b)
    res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
               "--pattern", "whql", "--count", "3", "--payload", "3000"])
    assert res.returncode == 1
    assert "send on packet:" in res.stderr


SERVER = r"""
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[3]))
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("ready", flush=True)
s.settimeout(60)
c, _ = s.accept()
data = bytearray()
while True:
    chunk = c.recv(2048)
    if not chunk:
        break
    data += chunk
    time.sleep(float(sys.argv[4]))  # a slow reader: the window closes
c.close()
sys.stdout.buffer.write(bytes(data))
"""


def pattern_bytes(seq, length):
    """rig/net's RIG_NET_PATTERN_SEQ: a multiplicative hash of the seq."""
    return bytes((((seq + i) * 2654435761) & 0xFFFFFFFF) >> 24
                 for i in range(length))


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "ipv6"])
def test_live_tcp_against_linux(trafgen, veth, tmp_path, ipv6):
    tx, a, rx, b = veth
    link_up(tx, a)  # the generator's side needs no kernel IPv6
    link_up(rx, b, ipv6_on=ipv6)
    if ipv6:
        peer, ours, plen = "2001:db8::2", "2001:db8::1", 64
        subprocess.run(["ip", "-n", rx, "addr", "add", f"{peer}/{plen}",
                        "dev", b, "nodad"], check=True)
    else:
        peer, ours, plen = "192.0.2.2", "192.0.2.1", 24
        subprocess.run(["ip", "-n", rx, "addr", "add", f"{peer}/{plen}",
                        "dev", b], check=True)
    count, payload = 200, 1000
    server = subprocess.Popen(
        ["ip", "netns", "exec", rx, "/usr/bin/python3", "-c", SERVER, peer,
         "5001", "4096", "0.003"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    cap = None
    try:
        assert server.stdout.readline() == b"ready\n"
        cap = Capture(rx, b, tmp_path / "live.pcap", 0)
        res = run(["ip", "netns", "exec", tx, str(trafgen), "--iface", a,
                   "--live", "--count", str(count), "--payload", str(payload),
                   "--src-ip", ours, "--dst-ip", peer, "--json", "-", "-q",
                   "--live-timeout-ms", "20000"]
                  + (["--ipv6"] if ipv6 else []), timeout=120)
        assert res.returncode == 0, res.stderr
        received, err = server.communicate(timeout=60)
        assert server.returncode == 0, err
        cap.stop()
    finally:
        if cap:
            cap.proc.kill()
            cap.proc.wait()
        if server.poll() is None:
            server.kill()
            server.wait()
    # every byte, in order, with the generator's content
    assert len(received) == count * payload
    assert received == pattern_bytes(ISN + 1, count * payload)
    result = json.loads(res.stdout)
    assert result["bytes_acked"] == count * payload
    assert result["peer_closed"] is True
    # the slow reader's window limited the sender at least once
    assert result["window_stalls"] > 0
    assert result["max_peer_window"] < count * payload

    # from the receiver's side: handshake, data never beyond the window the
    # receiver had advertised when the segment left, FIN from both sides
    out = run(["tshark", "-r", str(tmp_path / "live.pcap"), "-o",
               "tcp.analyze_sequence_numbers:FALSE", "-T", "fields", "-E",
               "separator=|", "-e", "tcp.srcport", "-e", "tcp.seq_raw", "-e",
               "tcp.ack_raw", "-e", "tcp.flags", "-e", "tcp.len", "-e",
               "tcp.window_size_value", "-Y", "tcp.port == 5001"],
              check=True).stdout
    rows = [line.split("|") for line in out.splitlines()]
    flags = [(r[0], int(r[3], 16)) for r in rows]
    assert flags[0] == ("40000", SYN)
    assert flags[1] == ("5001", SYN | ACK)
    assert ("40000", FIN | ACK) in flags and ("5001", FIN | ACK) in flags
    assert not any(f & RST for _, f in flags)
    right_edge = None
    probes = result["zero_window_probes"]
    for port, seq, ack, _, length, window in rows:
        if port == "5001" and int(ack) > 0:
            edge = int(ack) + int(window)
            right_edge = edge if right_edge is None else max(right_edge, edge)
        elif port == "40000" and int(length) > 0:
            assert right_edge is not None
            if probes and int(length) == 1:
                continue  # a zero-window probe may lie beyond the edge
            assert int(seq) + int(length) <= right_edge, (seq, length)
