"""A real Linux TCP sender (timestamps on, the Linux default) against the
reference guest: the fixed QEMU coalesces its segments, the stock QEMU never
does (every segment with a TCP option is finalized: tcp_all_opt).

The test is the guest's TCP peer: rig-guest --script receives the SYN Linux
sends through the tap, the test builds the SYN-ACK (MSS and timestamp, no
window scaling) and the guest transmits it; Linux then sends its initial
congestion window, which the guest receives after one step of the virtual
clock past rsc_interval.  ACKs from the guest ask for the rest until all of
it has arrived.  Everything stays inside rig-guest's private namespace.
"""

import struct
import subprocess

import pytest

from conftest import rig_binary
from test_guest import DRAIN_NS, RSC_INFO, Guest, csum

HOST_IP, GUEST_IP = "10.213.0.1", "10.213.0.2"
PORT = 5001
SEND_BYTES = 20_000
GUEST_ISN = 1_000_000
VNET_HDR = 12  # struct virtio_net_hdr_v1
ETH_IPV4 = 14

# Connects from inside the namespace and sends a known pattern; keeps the
# socket open until stdin closes so that no FIN or RST disturbs the flow.
SENDER = r"""
import socket, sys
data = bytes((i * 7 + i // 251) & 0xFF for i in range(int(sys.argv[3])))
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
print("connected", flush=True)
s.sendall(data)
print("sent", flush=True)
sys.stdin.read()
"""


def pattern(n):
    return bytes((i * 7 + i // 251) & 0xFF for i in range(n))


def ip4(addr):
    return bytes(int(x) for x in addr.split("."))


def tcp_options(tcp):
    """{kind: bytes} of a TCP header's options."""
    hlen = (tcp[12] >> 4) * 4
    opts, i, raw = {}, 20, tcp[:hlen]
    while i < hlen:
        kind = raw[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        length = raw[i + 1]
        assert length >= 2 and i + length <= hlen, raw.hex()
        opts[kind] = raw[i + 2:i + length]
        i += length
    return opts


def parse(frame_hex):
    """(ip, tcp) of an IPv4/TCP frame as the guest received it, or None."""
    data = bytes.fromhex(frame_hex)[VNET_HDR:]
    if len(data) < ETH_IPV4 + 40 or data[12:14] != b"\x08\x00":
        return None
    ip = data[ETH_IPV4:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 6:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    return ip[:ihl], ip[ihl:total]


def guest_frame(g, host_mac, linux_port, seq, ack, flags, options,
                window=65535):
    """Ethernet + IPv4(DF) + TCP from the guest to Linux, valid checksums."""
    src, dst = ip4(GUEST_IP), ip4(HOST_IP)
    tcp = struct.pack("!HHIIBBHHH", PORT, linux_port, seq, ack,
                      ((20 + len(options)) // 4) << 4, flags, window, 0,
                      0) + options
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64,
                     6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return host_mac + g.mac + b"\x08\x00" + ip + tcp


def reply(g, host_mac, linux_port, seq, ack, flags, tsval, tsecr, mss=None):
    """The guest sends a segment with NOP NOP TS (and MSS on the SYN-ACK);
    no window scaling, so Linux's window is the 65535 bytes we advertise."""
    opts = struct.pack("!BBH", 2, 4, mss) if mss else b""
    opts += struct.pack("!BBBBII", 1, 1, 8, 10, tsval, tsecr)
    frame = guest_frame(g, host_mac, linux_port, seq, ack, flags, opts)
    g.call(f"send {frame.hex()}")


def ns(g, *cmd):
    subprocess.run(["ip", "netns", "exec", g.netns, *cmd], check=True,
                   capture_output=True, timeout=30)


def wait_quiet(g, base, quiet_ms=300):
    """Waits until QEMU has taken more than @base frames from the tap and
    then none for @quiet_ms: Linux has sent what its window allows."""
    g.call(f"wait-rsc-received {base + 1} 10000")
    while True:
        now = g.rsc_received()
        if not g.call(f"wait-rsc-received {now + 1} {quiet_ms}",
                      check=False)["ok"]:
            return


def run_linux_sender(g):
    """Drives the handshake and ACKs until Linux's SEND_BYTES have arrived.
    Returns (every Linux data segment as received, rsc-stats ipv4)."""
    host_mac = bytes.fromhex(subprocess.run(
        ["ip", "netns", "exec", g.netns, "cat",
         f"/sys/class/net/{g.tap}/address"], check=True, capture_output=True,
        text=True).stdout.strip().replace(":", ""))
    ns(g, "ip", "addr", "add", f"{HOST_IP}/24", "dev", g.tap)
    ns(g, "ip", "neigh", "replace", GUEST_IP, "lladdr",
       g.mac.hex(":"), "dev", g.tap, "nud", "permanent")
    ns(g, "sysctl", "-qw", "net.ipv4.tcp_timestamps=1")
    # Segments as on a wire: no TSO/GSO super-packets, full checksums.
    ns(g, "ethtool", "-K", g.tap, "tx", "off", "tso", "off", "gso", "off")

    sender = subprocess.Popen(
        ["ip", "netns", "exec", g.netns, "/usr/bin/python3", "-c", SENDER,
         GUEST_IP, str(PORT), str(SEND_BYTES)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        return handshake_and_receive(g, host_mac, sender)
    finally:
        if sender.poll() is None:
            sender.kill()
        sender.wait(timeout=10)


def handshake_and_receive(g, host_mac, sender):
    syn = None
    for _ in range(20):
        for f in g.call("recv 1 5000")["frames"]:
            p = parse(f.get("data", ""))
            if p and p[1][13] & 0x02 and struct.unpack(
                    "!H", p[1][2:4])[0] == PORT:
                syn = p[1]
                break
        if syn:
            break
    assert syn is not None, "no SYN from Linux reached the guest"
    linux_port, linux_isn = struct.unpack("!HI", syn[0:2] + syn[4:8])
    syn_opts = tcp_options(syn)
    assert 8 in syn_opts, f"Linux's SYN has no timestamp: {syn.hex()}"
    tsval = 5000
    peer_ts = struct.unpack("!I", syn_opts[8][:4])[0]
    base = g.rsc_received()
    reply(g, host_mac, linux_port, GUEST_ISN, linux_isn + 1, 0x12, tsval,
          peer_ts, mss=1460)
    assert sender.stdout.readline().strip() == "connected", \
        sender.stderr.read()

    got = {}  # offset -> payload bytes
    segments = []
    for _ in range(10):
        wait_quiet(g, base)
        g.call(f"step {DRAIN_NS}")
        frames = g.call("recv 1 1000")["frames"]
        while True:
            more = g.call("recv 1 300")["frames"]
            if not more:
                break
            frames += more
        for f in frames:
            p = parse(f.get("data", ""))
            if not p:
                continue
            ip, tcp = p
            if struct.unpack("!HH", tcp[0:4]) != (linux_port, PORT):
                continue
            payload = tcp[(tcp[12] >> 4) * 4:]
            if not payload:
                continue
            seq = struct.unpack("!I", tcp[4:8])[0]
            segments.append((f, tcp, payload))
            off = (seq - linux_isn - 1) & 0xFFFFFFFF
            if len(payload) > len(got.get(off, b"")):
                got[off] = payload
            peer_ts = max(peer_ts, struct.unpack(
                "!I", tcp_options(tcp).get(8, b"\0" * 4)[:4])[0])
        contiguous = 0
        while contiguous in got:
            contiguous += len(got[contiguous])
        if contiguous >= SEND_BYTES:
            break
        tsval += 1
        base = g.rsc_received()
        reply(g, host_mac, linux_port, GUEST_ISN + 1,
              linux_isn + 1 + contiguous, 0x10, tsval, peer_ts)
    stats = g.call("rsc-stats")["rsc_stats"]["ipv4"]
    return segments, got, stats


def reassemble(got):
    """Linux's byte stream from the segments by offset.  Linux retransmits
    while the test waits (tail loss probe, RTO): a copy must equal what it
    overlaps."""
    out = bytearray()
    want = pattern(SEND_BYTES)
    for off in sorted(got):
        assert off <= len(out), f"gap at byte {len(out)} (next at {off})"
        assert got[off] == want[off:off + len(got[off])], f"bytes at {off}"
        out[off:off + len(got[off])] = got[off]
    return bytes(out)


@pytest.mark.parametrize("build", ["fixed", "stock"])
def test_linux_timestamped_segments(build_dir, root, qemu_builds, build):
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    g = Guest(binary, qemu_builds[build], "netkvm", ["--keep-data"])
    try:
        segments, got, stats = run_linux_sender(g)
    finally:
        g.close()

    assert segments, "no data from Linux reached the guest"
    # Every delivered frame carries Linux's timestamp option: the proof is
    # about timestamped traffic, not about option-free segments.
    for f, tcp, _ in segments:
        opts = tcp_options(tcp)
        assert 8 in opts and len(opts[8]) == 8, tcp[:60].hex()
    # Everything Linux sent arrived: no gap, no byte changed.
    assert reassemble(got) == pattern(SEND_BYTES)

    counts = [f["hdr"]["csum_start"] if f["hdr"]["flags"] & RSC_INFO else 1
              for f, _, _ in segments]
    print(f"{build}: {len(segments)} frames, segments per frame {counts}, "
          f"tcp_option={stats['tcp_option']} "
          f"tcp_all_opt={stats['tcp_all_opt']} "
          f"coalesced={stats['coalesced']}")
    if build == "fixed":
        assert max(counts) >= 2, counts
        assert stats["tcp_option"] > 0, stats
    else:
        assert not any(f["hdr"]["flags"] & RSC_INFO for f, _, _ in segments)
        assert stats["tcp_all_opt"] > 0, stats
