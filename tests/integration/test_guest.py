"""rig/guest against the real patched QEMU: the reference guest (rig-guest
--script, a C worker) negotiates like NetKVM over qtest, frames are injected
through AF_PACKET on the tap's host side inside the private namespace the
worker created, and what the guest receives is checked.

Every test starts its own QEMU and namespace (the worker deletes both on
exit); nothing leaves the namespace.
"""

import json
import queue
import re
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (REQUIRE_ALL, leaked_rig_namespaces, netns_list, require,
                      rig_binary)

# Feature bits (virtio spec 5.1.3).
GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, RSC_EXT = 1, 7, 8, 61
RSC_INFO = 4
GSO_TCPV4, GSO_TCPV6 = 1, 4
# Longer than the default rsc_interval (300 us): one step drains the cache.
DRAIN_NS = 1_000_000
VIRTIO_PATH = "/machine/peripheral/net0/virtio-backend"

# What the released NetKVM drivers ack of what QEMU offers by default
# (ParaNdis_InitializeContext, NetKVM/Common/ParaNdis_Common.cpp).
PROFILE_FEATURES = {
    "netkvm": {"VIRTIO_F_VERSION_1", "VIRTIO_NET_F_MAC", "VIRTIO_NET_F_STATUS",
               "VIRTIO_NET_F_CTRL_VQ", "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS",
               "VIRTIO_NET_F_GUEST_CSUM", "VIRTIO_NET_F_GUEST_TSO4",
               "VIRTIO_NET_F_GUEST_TSO6", "VIRTIO_NET_F_RSC_EXT",
               "VIRTIO_NET_F_CSUM", "VIRTIO_NET_F_HOST_TSO4",
               "VIRTIO_NET_F_HOST_TSO6", "VIRTIO_NET_F_HOST_USO",
               "VIRTIO_NET_F_MRG_RXBUF", "VIRTIO_NET_F_CTRL_RX",
               "VIRTIO_NET_F_CTRL_VLAN", "VIRTIO_NET_F_CTRL_RX_EXTRA",
               "VIRTIO_NET_F_GUEST_ANNOUNCE", "VIRTIO_NET_F_CTRL_MAC_ADDR",
               "VIRTIO_RING_F_INDIRECT_DESC", "VIRTIO_RING_F_EVENT_IDX"},
}
PROFILE_FEATURES["netkvm-head"] = (PROFILE_FEATURES["netkvm"]
                                   - {"VIRTIO_NET_F_MRG_RXBUF"})
PROFILE_FEATURES["no-rsc"] = PROFILE_FEATURES["netkvm"] - {"VIRTIO_NET_F_RSC_EXT"}
PROFILE_FEATURES["rsc-v4-only"] = (PROFILE_FEATURES["netkvm"]
                                   - {"VIRTIO_NET_F_GUEST_TSO6"})
PROFILE_FEATURES["rsc-v6-only"] = (PROFILE_FEATURES["netkvm"]
                                   - {"VIRTIO_NET_F_GUEST_TSO4"})
PROFILE_FEATURES["mrg-rxbuf"] = PROFILE_FEATURES["netkvm"]


# ---- frames ----------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


SRC_MAC = bytes.fromhex("020000000001")
V4 = (bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2]))
V6 = (bytes.fromhex("fd000000000000000000000000000001"),
      bytes.fromhex("fd000000000000000000000000000002"))


def tcp_frame(dst_mac, family, seq, payload_len, flags=0x10, ack=1,
              sport=40000, dport=5001, window=1024):
    """An Ethernet + IPv4(DF)/IPv6 + TCP segment with valid checksums."""
    payload = bytes((seq + i) & 0xFF for i in range(payload_len))
    src, dst = V4 if family == 4 else V6
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      window, 0, 0) + payload
    if family == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(tcp), 6)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    if family == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x1234,
                         0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, src, dst)
        ethertype = 0x86DD
    return dst_mac + SRC_MAC + struct.pack("!H", ethertype) + ip + tcp


def udp_frame(dst_mac, payload_len=100):
    src, dst = V4
    udp = struct.pack("!HHHH", 5000, 9, 8 + payload_len, 0) + b"u" * payload_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64,
                     17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + SRC_MAC + b"\x08\x00" + ip + udp


INJECTOR = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for line in sys.stdin:
    line = line.strip()
    if line:
        frame = bytes.fromhex(line)
        assert s.send(frame) == len(frame)
"""


# ---- the worker -------------------------------------------------------------

class Guest:
    """rig-guest --script: one command per line, one JSON reply per line."""

    def __init__(self, binary, qemu, profile="netkvm", args=()):
        self.proc = subprocess.Popen(
            [str(binary), "--script", "--qemu", str(qemu), "--profile",
             profile, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self._reply(60)
        assert self.ready.get("ready"), self.ready
        self.netns = self.ready["netns"]
        self.tap = self.ready["tap"]
        self.mac = bytes.fromhex(self.ready["mac"].replace(":", ""))

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _reply(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"rig-guest gave no reply within {timeout} s")
        if line is None:
            self.proc.wait(timeout=10)
            pytest.fail(f"rig-guest exited ({self.proc.returncode}): "
                        f"{self.proc.stderr.read()[-2000:]}")
        return json.loads(line)

    def call(self, line, timeout=60, check=True):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._reply(timeout)
        if check:
            assert reply["ok"], f"{line}: {reply}"
        return reply

    def inject(self, frames):
        """Sends frames into the tap (host side) inside the namespace."""
        data = "".join(f.hex() + "\n" for f in frames)
        subprocess.run(["ip", "netns", "exec", self.netns, "/usr/bin/python3",
                        "-c", INJECTOR, self.tap], input=data, text=True,
                       check=True, timeout=60)

    def rsc_received(self):
        """QEMU's RSC "received" counter (patched QEMU), or None."""
        reply = self.call("rsc-received", check=False)
        if not reply["ok"]:
            assert "rsc-stats" in reply["error"], reply
            return None
        return reply["received"]

    def tap_read(self):
        """Frames QEMU has read from the tap: the kernel counts a tap's
        tx_packets when its reader takes a frame (tun_put_user)."""
        out = subprocess.run(
            ["ip", "netns", "exec", self.netns, "cat",
             f"/sys/class/net/{self.tap}/statistics/tx_packets"],
            check=True, capture_output=True, text=True).stdout
        return int(out)

    def inject_and_wait(self, frames):
        """Injects, then waits until QEMU has taken every frame: by the
        patched QEMU's rsc-stats "received" counter when it has one, else by
        the tap's own counter."""
        base = self.rsc_received()
        tap_base = self.tap_read()
        self.inject(frames)
        if base is not None:
            self.call(f"wait-rsc-received {base + len(frames)} 10000")
            return
        require(not REQUIRE_ALL, "patched QEMU lacks rsc-stats")
        for _ in range(1000):
            if self.tap_read() >= tap_base + len(frames):
                return
            time.sleep(0.01)
        pytest.fail(f"QEMU did not read {len(frames)} frames from the tap")

    def stats(self):
        return self.call("stats")["stats"]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # The worker's namespace is gone on every exit path.
        assert self.netns not in netns_list()


@pytest.fixture
def guest_factory(build_dir, qemu_binary, root):
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    started = []

    def start(profile="netkvm", args=()):
        g = Guest(binary, qemu_binary, profile, args)
        started.append(g)
        return g

    yield start
    for g in started:
        g.close()


def segments(mac, family, count, seq=1, size=1000, **kw):
    return [tcp_frame(mac, family, seq + i * size, size, **kw)
            for i in range(count)]


def recv_all(g, want, timeout_ms=5000):
    return g.call(f"recv {want} {timeout_ms}")["frames"]


# ---- negotiation ------------------------------------------------------------

def qemu_feature_names(features):
    names = set()
    for key in ("transports", "dev-features"):
        for entry in features.get(key, []):
            names.add(entry.split(":")[0].strip())
    return names


@pytest.mark.parametrize("profile", sorted(PROFILE_FEATURES))
def test_negotiation_matches_qemu(guest_factory, profile):
    g = guest_factory(profile)
    st = g.stats()
    assert set(st["features_names"]) == PROFILE_FEATURES[profile]
    status = g.call("qmp x-query-virtio-status "
                    + json.dumps({"path": VIRTIO_PATH}))["return"]
    guest = status["guest-features"]
    assert qemu_feature_names(guest) == PROFILE_FEATURES[profile]
    assert not guest.get("unknown-dev-features")
    assert "DRIVER_OK" in " ".join(status["status"]["statuses"])
    want_offloads = {"netkvm": {GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, RSC_EXT},
                     "netkvm-head": {GUEST_CSUM, GUEST_TSO4, GUEST_TSO6,
                                     RSC_EXT},
                     "mrg-rxbuf": {GUEST_CSUM, GUEST_TSO4, GUEST_TSO6, RSC_EXT},
                     "no-rsc": {GUEST_CSUM, GUEST_TSO4, GUEST_TSO6},
                     "rsc-v4-only": {GUEST_CSUM, GUEST_TSO4, RSC_EXT},
                     "rsc-v6-only": {GUEST_CSUM, GUEST_TSO6, RSC_EXT}}[profile]
    assert int(st["offloads"], 16) == sum(1 << b for b in want_offloads)
    assert st["rx_mode"] == ("mergeable" if profile == "mrg-rxbuf" else "big")
    assert st["mrg_rxbuf"] == (profile != "netkvm-head")
    assert st["clock_mode"] == "deterministic"
    # Ring features as NetKVM uses them: indirect RX tables for big buffers.
    assert st["rx_ring"]["event_idx"]
    assert st["rx_ring"]["indirect"] == (profile != "mrg-rxbuf")


def test_required_feature_missing_is_clear_error(build_dir, qemu_binary, root):
    """guest_rsc_ext=off: the netkvm profile refuses, naming the fix."""
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    before = netns_list()
    r = subprocess.run([str(binary), "--qemu", str(qemu_binary),
                        "--no-rsc-ext", "--count", "1", "--timeout", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r
    assert "guest_rsc_ext=on" in r.stderr
    assert leaked_rig_namespaces(before) == set()


# ---- coalescing ---------------------------------------------------------------

@pytest.mark.parametrize("family", [4, 6])
def test_twenty_segments_coalesce(guest_factory, family):
    g = guest_factory("netkvm")
    g.inject_and_wait(segments(g.mac, family, 20, seq=1000))
    # Nothing arrives before the drain timer: the clock is ours.
    assert recv_all(g, 1, 300) == []
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 1)
    assert len(frames) == 1, frames
    f = frames[0]
    assert f["coalesced"] and f["hdr"]["flags"] & RSC_INFO
    assert f["segments"] == 20
    assert f["hdr"]["csum_start"] == 20
    assert f["hdr"]["gso_type"] == (GSO_TCPV4 if family == 4 else GSO_TCPV6)
    assert f["payload_len"] == 20000
    assert f["seq"] == 1000 and f["seq_end"] == 21000
    assert f["family"] == family
    c = g.stats()["counters"]
    assert (c["frames"], c["coalesced_frames"], c["segments"]) == (1, 1, 20)
    assert c["lost_bytes"] == 0


def test_no_rsc_delivers_twenty_frames(guest_factory):
    g = guest_factory("no-rsc")
    g.inject(segments(g.mac, 4, 20))
    frames = recv_all(g, 20)
    assert len(frames) == 20
    assert not any(f["coalesced"] for f in frames)
    assert [f["payload_len"] for f in frames] == [1000] * 20
    assert g.stats()["counters"]["segments"] == 0


def test_rsc_v4_only_leaves_ipv6_alone(guest_factory):
    g = guest_factory("rsc-v4-only")
    g.inject(segments(g.mac, 6, 20))
    frames = recv_all(g, 20)
    assert len(frames) == 20 and not any(f["coalesced"] for f in frames)
    g.inject_and_wait(segments(g.mac, 4, 20))
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 1)
    assert len(frames) == 1 and frames[0]["segments"] == 20


def test_mergeable_buffers_carry_coalesced_frame(guest_factory):
    g = guest_factory("mrg-rxbuf")
    g.inject_and_wait(segments(g.mac, 4, 20))
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 1)
    assert len(frames) == 1
    f = frames[0]
    assert f["segments"] == 20 and f["payload_len"] == 20000
    # 12 + 20054 bytes do not fit one 4 KiB buffer.
    assert f["hdr"]["num_buffers"] == 5


def test_offloads_switch_rsc_at_run_time(guest_factory):
    g = guest_factory("netkvm")
    commands = g.stats()["counters"]["ctrl_commands"]
    no_rsc = (1 << GUEST_CSUM) | (1 << GUEST_TSO4) | (1 << GUEST_TSO6)
    # TSO without bit 61: QEMU's RSC is off (rsc4_enabled needs both).
    reply = g.call(f"offloads {no_rsc:#x}")
    assert not reply["rsc_ipv4"] and not reply["rsc_ipv6"]
    g.inject(segments(g.mac, 4, 20, seq=1))
    frames = recv_all(g, 20)
    assert len(frames) == 20 and not any(f["coalesced"] for f in frames)
    g.call(f"offloads {no_rsc | (1 << RSC_EXT):#x}")
    g.inject_and_wait(segments(g.mac, 4, 20, seq=20001))
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 1)
    assert len(frames) == 1 and frames[0]["segments"] == 20
    assert frames[0]["seq"] == 20001
    assert g.stats()["counters"]["ctrl_commands"] == commands + 2


# ---- deterministic clock ----------------------------------------------------

def deterministic_run(factory):
    g = factory("netkvm")
    try:
        pattern = [(4, 5, 100_000), (4, 5, 400_000), (6, 3, 0),
                   (6, 4, DRAIN_NS), (4, 7, 50_000), (4, 2, DRAIN_NS)]
        seq = {4: 1, 6: 1}
        for family, count, step in pattern:
            g.inject_and_wait(segments(g.mac, family, count, seq=seq[family]))
            seq[family] += count * 1000
            if step:
                g.call(f"step {step}")
        g.call(f"step {DRAIN_NS}")
        recv_all(g, 1, 1000)
        while recv_all(g, 1, 200):
            pass
        return g.call("log")["log"]
    finally:
        g.close()


def test_deterministic_runs_are_identical(guest_factory):
    first = deterministic_run(guest_factory)
    second = deterministic_run(guest_factory)
    assert first, "nothing received"
    assert first == second
    # Segments sent in one clock window came out merged (RSC_INFO; a fixed
    # QEMU also sets NEEDS_CSUM).
    assert any(int(re.search(r" flags=(\d+) ", line).group(1)) & RSC_INFO
               for line in first)


# ---- starvation -------------------------------------------------------------

def test_starvation_loss_is_reported(guest_factory):
    g = guest_factory("netkvm", ["--rx-buffers", "1"])
    # Primer: the flow's start is known to the guest.
    g.inject_and_wait(segments(g.mac, 4, 1, seq=1))
    g.call("starve 0 0")
    g.call(f"step {DRAIN_NS}")
    assert len(recv_all(g, 1)) == 1
    # No RX buffer is posted now: 10 segments coalesce, the timer fires.
    g.inject_and_wait(segments(g.mac, 4, 10, seq=1001))
    g.call(f"step {DRAIN_NS}")
    reply = g.call("rsc-stats", check=False)
    # The drain timer's failure is counted as purge_failed (virtio-net.c
    # virtio_net_rsc_purge); flow and final drains have their own counters.
    failed = (sum(reply["rsc_stats"]["ipv4"][k] for k in
                  ("purge_failed", "drain_failed", "final_failed"))
              if reply["ok"] else None)
    assert g.call("post 1000")["posted"] > 0
    g.inject_and_wait(segments(g.mac, 4, 1, seq=11001))
    g.call(f"step {DRAIN_NS}")
    recv_all(g, 1)
    while recv_all(g, 1, 300):
        pass
    c = g.stats()["counters"]
    flow = c["flows"][0]
    # Every injected byte is either received or reported lost.
    received = flow["payload_bytes"]
    assert received + c["lost_bytes"] == 12_000, c
    if failed is None:
        # Stock QEMU (no rsc-stats): it drops the cached segment.
        assert c["lost_bytes"] == 10_000 and flow["gaps"] == 1
    elif failed > 0:
        # QEMU dropped the cached segment (unpatched behaviour): the guest
        # must show the hole, not hide it.
        assert c["lost_bytes"] == 10_000 and flow["gaps"] == 1
    else:
        assert c["lost_bytes"] == 0
    assert c["starved_buffers"] >= 1


# ---- errors, not hangs --------------------------------------------------------

def test_bad_used_index_is_device_error(guest_factory):
    g = guest_factory("netkvm")
    ring = g.stats()["rx_ring"]
    # Play a broken device: publish 500 used entries that were never made.
    g.call(f"poke 2 {ring['used'] + 2} 40000")
    reply = g.call("recv 1 2000", check=False)
    assert not reply["ok"]
    assert "used index" in reply["error"] and "virtqueue 0" in reply["error"]


def test_qemu_gone_is_error_with_context(guest_factory):
    g = guest_factory("netkvm")
    g.call("qmp quit", check=False)
    reply = g.call("recv 1 2000", check=False)
    assert not reply["ok"]
    assert reply["code"] == 3  # RIG_GUEST_ERROR_DISCONNECTED
    assert "qtest" in reply["error"]


def test_realtime_clock_refuses_step(guest_factory):
    g = guest_factory("netkvm", ["--clock", "realtime"])
    reply = g.call("step 1000", check=False)
    assert not reply["ok"] and "deterministic" in reply["error"]


# ---- real-time clock and rsc-trafgen -----------------------------------------

def test_realtime_clock_drains_by_itself(guest_factory):
    g = guest_factory("netkvm", ["--clock", "realtime"])
    g.inject(segments(g.mac, 4, 20))
    frames = []
    for _ in range(50):
        frames += recv_all(g, 1, 200)
        if sum(f["segments"] if f["coalesced"] else 1 for f in frames) >= 20:
            break
    assert sum(f["segments"] if f["coalesced"] else 1 for f in frames) == 20
    assert any(f["coalesced"] for f in frames)
    assert g.stats()["clock_mode"] == "realtime"


def test_trafgen_whql_pattern_coalesces(guest_factory, build_dir):
    trafgen = build_dir / "rig/trafgen/rsc-trafgen"
    require(trafgen.is_file(), "rsc-trafgen not built")
    g = guest_factory("netkvm")
    base = g.tap_read()
    r = subprocess.run(["ip", "netns", "exec", g.netns, str(trafgen),
                        "--iface", g.tap, "--pattern", "whql", "--count", "20",
                        "--period-us", "100", "--payload", "1000",
                        "--dst-mac", g.ready["mac"]],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"rsc-trafgen failed: {r.stderr[-2000:]}"
    for _ in range(1000):
        if g.tap_read() >= base + 20:
            break
        time.sleep(0.01)
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 1)
    # The virtual clock did not move while trafgen sent: one window.
    assert len(frames) == 1 and frames[0]["segments"] == 20
    assert frames[0]["payload_len"] == 20000


def test_free_clock_with_halt_firmware(guest_factory):
    """No qtest accelerator: TCG with a hlt-only BIOS, QEMU's clocks run by
    themselves and drain the cache without any step."""
    g = guest_factory("netkvm", ["--clock", "free"])
    st = g.stats()
    assert st["clock_mode"] == "free" and st["vclock_ns"] == -1
    g.inject(segments(g.mac, 4, 20))
    frames = []
    for _ in range(50):
        frames += recv_all(g, 1, 200)
        if sum(f["segments"] if f["coalesced"] else 1 for f in frames) >= 20:
            break
    assert sum(f["segments"] if f["coalesced"] else 1 for f in frames) == 20
    assert any(f["coalesced"] for f in frames)
    assert all(f["vclock_ns"] == -1 for f in frames)


def test_cli_json_count(build_dir, qemu_binary, root):
    """The debugging CLI: prints where to inject, then JSON at --count."""
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    proc = subprocess.Popen([str(binary), "--qemu", str(qemu_binary),
                             "--profile", "no-rsc", "--count", "5",
                             "--timeout", "60", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        ready = proc.stderr.readline()
        assert "ready" in ready, ready + proc.stderr.read()
        fields = dict(kv.split("=", 1) for kv in ready.split()[2:])
        mac = bytes.fromhex(fields["mac"].replace(":", ""))
        data = "".join(f.hex() + "\n" for f in segments(mac, 4, 5))
        subprocess.run(["ip", "netns", "exec", fields["netns"],
                        "/usr/bin/python3", "-c", INJECTOR, fields["tap"]],
                       input=data, text=True, check=True, timeout=60)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["counters"]["frames"] == 5
    assert result["clock_mode"] == "realtime"
    assert [f["payload_len"] for f in result["frames"]] == [1000] * 5
    assert fields["netns"] not in netns_list()


def test_cli_help_and_bad_profile(build_dir):
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    r = subprocess.run([str(binary), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0
    for opt in ("--profile", "--count", "--timeout", "--json", "--clock",
                "--script", "--bench", "--attach"):
        assert opt in r.stdout
    r = subprocess.run([str(binary), "--profile", "windows"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "netkvm" in r.stderr and "windows" in r.stderr


LISTENER = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.settimeout(20)
print("listening", flush=True)
while True:
    frame = s.recv(65536)
    if frame[6:12] == bytes.fromhex(sys.argv[2]):
        print(frame.hex(), flush=True)
        break
"""


def test_tx_frame_reaches_tap(guest_factory):
    """TX: a frame the guest sends comes out of the tap unchanged."""
    g = guest_factory("netkvm")
    ack = tcp_frame(bytes.fromhex("020000000001"), 4, 5000, 0, ack=12345)
    ack = ack[:6] + g.mac + ack[12:]  # from the guest's own MAC
    listener = subprocess.Popen(
        ["ip", "netns", "exec", g.netns, "/usr/bin/python3", "-c", LISTENER,
         g.tap, g.mac.hex()], stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "listening"
        g.call(f"send {ack.hex()}")
        out, _ = listener.communicate(timeout=30)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    assert out.strip() == ack.hex()
    assert g.stats()["counters"]["tx_frames"] == 1


# ---- NetKVM fidelity ----------------------------------------------------------

def test_netkvm_packet_filter_and_vlans(guest_factory):
    """ParaNdis_UpdateDeviceFilters: promiscuous mode off, a multicast table,
    every VLAN id added; QEMU's receive_filter then drops frames for other
    MACs and passes tagged ones."""
    g = guest_factory("netkvm")
    filt = g.call("qmp query-rx-filter " + json.dumps({"name": "net0"}))
    f = filt["return"][0]
    assert f["promiscuous"] is False
    assert f["multicast"] == "normal" and f["unicast"] == "normal"
    assert "33:33:00:00:00:01" in f["multicast-table"]
    assert len(f["vlan-table"]) == 4096
    other = bytes.fromhex("020000009999")
    g.inject([udp_frame(other), udp_frame(g.mac)])
    frames = recv_all(g, 2, 1000)
    assert len(frames) == 1, frames
    tagged = udp_frame(g.mac)
    tagged = tagged[:12] + bytes.fromhex("81000064") + tagged[12:]
    g.inject([tagged])
    assert len(recv_all(g, 1, 2000)) == 1


def test_netkvm_head_does_not_ack_mrg_rxbuf(guest_factory):
    g = guest_factory("netkvm-head")
    st = g.stats()
    assert "VIRTIO_NET_F_MRG_RXBUF" not in st["features_names"]
    assert "1a562db4" not in st["follows"]
    g.inject_and_wait(segments(g.mac, 4, 20))
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 1)
    assert len(frames) == 1 and frames[0]["segments"] == 20


INJECT_GSO = r"""
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.setsockopt(263, 15, 1)  # SOL_PACKET, PACKET_VNET_HDR
s.bind((sys.argv[1], 0))
frame = bytes.fromhex(sys.stdin.read().strip())
# virtio_net_hdr: NEEDS_CSUM, GSO_TCPV4, hdr_len, gso_size, csum_start/off
hdr = struct.pack("<BBHHHH", 1, 1, 54, int(sys.argv[2]), 34, 16)
assert s.send(hdr + frame) == len(hdr) + len(frame)
"""


def gso_frame(dst_mac, seq, payload_len):
    """A TCP super-frame with the pseudo-header checksum in its TCP field,
    as a sender using LSO hands it to the kernel (NEEDS_CSUM)."""
    f = bytearray(tcp_frame(dst_mac, 4, seq, payload_len))
    src, dst = V4
    pseudo = src + dst + struct.pack("!BBH", 0, 6, 20 + payload_len)
    s = sum(struct.unpack("!6H", pseudo))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    f[14 + 20 + 16:14 + 20 + 18] = struct.pack("!H", s)
    return bytes(f)


def test_gso_frame_counts_as_host_coalescing(guest_factory):
    """A host-GSO frame passed through without RSC_INFO: NetKVM estimates
    payload / gso_size segments and counts it as CoalescedHost."""
    g = guest_factory("no-rsc")
    frame = gso_frame(g.mac, 1, 10 * 1000)
    subprocess.run(["ip", "netns", "exec", g.netns, "/usr/bin/python3", "-c",
                    INJECT_GSO, g.tap, "1000"], input=frame.hex(), text=True,
                   check=True, timeout=60)
    frames = recv_all(g, 1)
    assert len(frames) == 1
    f = frames[0]
    assert f["hdr"]["gso_type"] == GSO_TCPV4 and not f["coalesced"]
    assert f["netkvm"] == "host" and f["netkvm_segments"] == 10
    n = g.stats()["netkvm"]
    assert n["netkvm_diag"] == {"CoalescedWin": 0, "CoalescedHost": 1}
    assert n["rsc_statistics"]["CoalescedPackets"] == 10
    assert n["rsc_statistics"]["CoalescingEvents"] == 1
    # The whole IP datagram, headers included.
    assert n["rsc_statistics"]["CoalescedBytes"] == 20 + 20 + 10_000


def test_netkvm_counters_for_rsc_frames(guest_factory):
    g = guest_factory("netkvm")
    g.inject_and_wait(segments(g.mac, 4, 20, seq=1))
    g.inject_and_wait(segments(g.mac, 6, 5, seq=1))
    g.call(f"step {DRAIN_NS}")
    frames = recv_all(g, 2)
    assert [f["netkvm"] for f in frames] == ["win", "win"]
    n = g.stats()["netkvm"]
    assert n["netkvm_diag"] == {"CoalescedWin": 2, "CoalescedHost": 0}
    assert n["rsc_statistics"] == {
        "CoalescedPackets": 25, "CoalescingEvents": 2,
        "CoalescedBytes": (20 + 20 + 20_000) + (40 + 20 + 5_000),
        "CoalescingExceptions": 0}


def fix_patches(qemu):
    """The fix patches of a rig-built QEMU (its rig-qemu-build.json)."""
    record = Path(qemu).resolve().parents[1] / "rig-qemu-build.json"
    try:
        return json.loads(record.read_text()).get("fix_patches", [])
    except (OSError, ValueError):
        return []


def test_rsc_off_and_on_mid_flow(guest_factory, qemu_binary):
    """OID_TCP_OFFLOAD_PARAMETERS as OnSetRSCParameters sends it: off is
    GUEST_CSUM + bit 61 without TSO bits; no byte of the flow is lost over
    the switches, segments cached when RSC went off included."""
    g = guest_factory("netkvm")
    g.inject_and_wait(segments(g.mac, 4, 10, seq=1))
    off = g.call("rsc off")
    assert int(off["offloads"], 16) == (1 << GUEST_CSUM) | (1 << RSC_EXT)
    assert not off["rsc_ipv4"] and not off["rsc_ipv6"]
    # A fixed QEMU with the flush patch delivers the cache before it acks
    # the command (rsc-decisions.md, "Flush"); stock drains it at its
    # timer: either way the ten segments arrive.
    flushed = recv_all(g, 1, 300)
    if any("lush" in p for p in fix_patches(qemu_binary)):
        assert sum(f["segments"] for f in flushed) == 10, flushed
    g.call(f"step {DRAIN_NS}")
    frames = flushed + recv_all(g, 1, 1000)
    g.inject(segments(g.mac, 4, 10, seq=10_001))
    frames += recv_all(g, 10)
    assert all(not f["coalesced"] for f in frames[-10:])
    on = g.call("rsc on")
    assert on["rsc_ipv4"] and on["rsc_ipv6"]
    g.inject_and_wait(segments(g.mac, 4, 10, seq=20_001))
    g.call(f"step {DRAIN_NS}")
    frames += recv_all(g, 1)
    assert frames[-1]["coalesced"] and frames[-1]["segments"] == 10
    c = g.stats()["counters"]
    assert c["lost_bytes"] == 0 and c["flows"][0]["payload_bytes"] == 30_000
    # Turning one family off keeps the other's TSO bit.
    v6 = g.call("rsc off 6")
    assert int(v6["offloads"], 16) == ((1 << GUEST_CSUM) | (1 << GUEST_TSO4)
                                       | (1 << RSC_EXT))
    assert v6["rsc_ipv4"] and not v6["rsc_ipv6"]


def test_d0_entry_resends_offloads(guest_factory):
    """ParaNdis_DeviceEnterD0: the offloads of the current RSC state and
    the MAC on every D0 entry."""
    g = guest_factory("netkvm")
    before = g.stats()
    assert before["d0_entries"] == 1
    g.call("rsc off 4")
    reply = g.call("d0")
    assert int(reply["offloads"], 16) == ((1 << GUEST_CSUM) | (1 << GUEST_TSO6)
                                          | (1 << RSC_EXT))
    after = g.stats()
    assert after["d0_entries"] == 2
    # rsc off: one command; d0: offloads and MAC.
    assert (after["counters"]["ctrl_commands"]
            == before["counters"]["ctrl_commands"] + 3)
    reply = g.call("rsc on 6", check=False)
    assert reply["ok"]
    v4only = guest_factory("rsc-v4-only")
    reply = v4only.call("rsc on 6", check=False)
    assert not reply["ok"] and "NOT_SUPPORTED" in reply["error"]


@pytest.mark.parametrize("build", ["fixed", "stock"])
def test_reset_drops_cached_segments(build_dir, root, qemu_builds, build):
    """A device reset while RSC holds segments (patch 0011, rsc-decisions.md
    "Flush"): three in-order segments are cached (the clock is ours: the
    drain timer has not run), the driver writes 0 to device_status and
    initialises the device again (`reset`), then the clock passes
    rsc_interval.

    Stock keeps the chain's cached unit across the reset: its drain timer
    still fires and delivers the three segments of the old driver
    instance into the new driver's rings, one coalesced frame of stale
    data.  Fixed drops them at reset (they belong to rings that are gone):
    nothing of them arrives.  On both, RSC runs again after the
    renegotiation and a fresh flow coalesces normally."""
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    g = Guest(binary, qemu_builds[build], "netkvm")
    try:
        g.inject_and_wait(segments(g.mac, 4, 3, seq=1))
        assert recv_all(g, 1, 300) == []
        cached = g.call("rsc-stats")["rsc_stats"]["ipv4"]

        reply = g.call("reset")
        assert reply["resets"] == 1
        assert reply["rsc_ipv4"] and reply["rsc_ipv6"], reply
        assert int(reply["offloads"], 16) >> RSC_EXT & 1, reply
        # A fresh, full RX ring (256: rig-guest's default size).
        assert reply["rx_free"] == 256, reply
        # Nothing of the old unit before the timer, on either build.
        assert recv_all(g, 1, 300) == []
        g.call(f"step {DRAIN_NS}")
        after_reset = recv_all(g, 1, 1000)
        drained = g.call("rsc-stats")["rsc_stats"]["ipv4"]

        g.inject_and_wait(segments(g.mac, 4, 3, seq=1, sport=40001))
        g.call(f"step {DRAIN_NS}")
        fresh = recv_all(g, 1)
        stats = g.stats()
    finally:
        g.close()

    print(f"{build}: after reset {[f['flow'] for f in after_reset]}; "
          f"rsc-stats ipv4 cache/coalesced/timer with the unit cached "
          f"{cached['cache']}/{cached['coalesced']}/{cached['timer']}, after "
          f"the drain step {drained['timer']}")
    assert (cached["received"], cached["coalesced"]) == (3, 2), cached
    if build == "stock":
        # The deviation: the drain timer survived the reset and handed the
        # old instance's unit to the new rings.
        assert drained["timer"] == cached["timer"] + 1, drained
        assert len(after_reset) == 1, after_reset
        stale = after_reset[0]
        assert stale["flow"].startswith("10.77.0.1:40000 "), stale
        assert stale["coalesced"] and stale["segments"] == 3, stale
        assert (stale["seq"], stale["seq_end"]) == (1, 3001), stale
    else:
        assert drained["timer"] == cached["timer"], drained
        assert after_reset == [], after_reset
    # The device works after the reset: the new flow coalesces.
    assert len(fresh) == 1, fresh
    assert fresh[0]["flow"].startswith("10.77.0.1:40001 "), fresh
    assert fresh[0]["coalesced"] and fresh[0]["segments"] == 3, fresh
    assert (fresh[0]["seq"], fresh[0]["seq_end"]) == (1, 3001), fresh
    assert stats["resets"] == 1


# ---- shared memory ------------------------------------------------------------

def test_shared_and_qtest_ram_give_identical_logs(guest_factory):
    """The fast path (guest RAM mapped by the rig) and the qtest-only path
    make the device decide exactly the same."""
    def factory(profile):
        return guest_factory(profile, ["--ram-access", "qtest"])

    shared = deterministic_run(guest_factory)
    qtest = deterministic_run(factory)
    assert shared and shared == qtest


def test_ram_access_is_reported(guest_factory):
    assert guest_factory("netkvm").ready["ram_access"] == "shared"
    g = guest_factory("netkvm", ["--ram-access", "qtest"])
    assert g.ready["ram_access"] == "qtest"
    assert g.stats()["ram_access"] == "qtest"


# ---- option checking (issue 11) --------------------------------------------

@pytest.mark.parametrize("args, option", [
    (["--rsc-interval", "-5"], "--rsc-interval"),
    (["--rsc-interval", "4294967296"], "--rsc-interval"),
    (["--rx-buffers", "-1"], "--rx-buffers"),
    (["--rx-buffers", "40000"], "--rx-buffers"),
    (["-t", "-3"], "--timeout/-t"),
    (["-t", "0"], "--timeout/-t"),
    (["-t", "1e9"], "--timeout/-t"),
    (["-c", "-1"], "--count/-c"),
    (["-m", "100000"], "--memory/-m"),
    (["--rx-queue-size", "300"], "--rx-queue-size"),
    (["--ram-access", "dma"], "--ram-access"),
])
def test_cli_rejects_out_of_range_numbers(build_dir, args, option):
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    r = subprocess.run([str(binary), *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r
    assert option.split("/")[0] in r.stderr, r.stderr
    if option != "--ram-access":
        assert "out of range" in r.stderr or "power of two" in r.stderr


def test_qemu_without_shared_ram_falls_back_to_qtest(build_dir, qemu_binary,
                                                     root, tmp_path):
    """A QEMU that refuses the memory backend: rig-guest says so and runs
    over qtest (a wrapper plays a QEMU without memory-backend-file)."""
    wrapper = tmp_path / "qemu-no-membackend"
    wrapper.write_text(
        "#!/bin/sh\n"
        "case \"$*\" in *memory-backend-file*)\n"
        "  echo \"qemu: -object memory-backend-file: invalid object type: "
        "memory-backend-file\" >&2; exit 1;;\n"
        "esac\n"
        f"exec {qemu_binary} \"$@\"\n")
    wrapper.chmod(0o755)
    binary = rig_binary(build_dir, "rig/guest/rig-guest")
    before = netns_list()
    g = Guest(binary, wrapper, "netkvm")
    try:
        assert g.ready["ram_access"] == "qtest"
        g.inject_and_wait(segments(g.mac, 4, 5))
        g.call(f"step {DRAIN_NS}")
        assert recv_all(g, 1)[0]["segments"] == 5
    finally:
        g.close()
    assert "can not share its guest RAM" in g.proc.stderr.read()
    assert leaked_rig_namespaces(before) == set()
    # Asked for explicitly, the refusal is an error, not a fallback.
    r = subprocess.run([str(binary), "--qemu", str(wrapper), "--ram-access",
                        "shared", "--count", "1", "--timeout", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "memory-backend" in r.stderr, r
