"""rsc-trafgen --vnet-hdr through a real tap.

The frames go out on the host side of a tap (IFF_VNET_HDR, offloads on as
QEMU sets them for a guest with GUEST_CSUM/TSO) in a private namespace; a
reader holding the tap's fd, as QEMU does, gets each frame with the header
the kernel wrote.  That header is what QEMU's RSC path sees: NEEDS_CSUM at
the TCP checksum for `csum`, plus GSO type and size for `gso`, and the TCP
checksum field holding the pseudo-header sum; plain frames have a zero
header.
"""

import json
import subprocess
import sys
import time

import pytest

from conftest import netns, rig_binary, unique_name

READER = r'''
import fcntl, json, os, select, struct, sys
TUNSETIFF, TUNSETOFFLOAD, TUNSETVNETHDRSZ = 0x400454ca, 0x400454d0, 0x400454d8
name, want = sys.argv[1], int(sys.argv[2])
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(),
                                       0x0002 | 0x1000 | 0x4000))
fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", 12))
fcntl.ioctl(fd, TUNSETOFFLOAD, 1 | 2 | 4)  # TUN_F_CSUM | TSO4 | TSO6
os.system(f"sysctl -qw net.ipv6.conf.{name}.disable_ipv6=1; "
          f"ip link set {name} up")
print("ready", flush=True)
got = 0
while got < want:
    r, _, _ = select.select([fd], [], [], 10)
    if not r:
        break
    buf = os.read(fd, 70000)
    flags, gso, hdr_len, gso_size, cs, co, nb = struct.unpack("<BBHHHHH",
                                                              buf[:12])
    frame = buf[12:]
    if struct.unpack("!H", frame[12:14])[0] not in (0x0800, 0x86DD):
        continue
    print(json.dumps({"flags": flags, "gso_type": gso, "gso_size": gso_size,
                      "csum_start": cs, "csum_offset": co, "len": len(frame),
                      "tcp_check": frame[cs + co:cs + co + 2].hex()
                      if flags & 1 else None}), flush=True)
    got += 1
'''


@pytest.fixture
def trafgen(build_dir, root):
    return rig_binary(build_dir, "rig/trafgen/rsc-trafgen")


def capture(trafgen, mode, ipv6, count, payload):
    """Sends `count` data segments of `payload` bytes; returns headers."""
    tap = unique_name("rigv")
    with netns() as ns:
        reader = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", READER, tap,
             str(count)], stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout.readline().strip() == "ready"
            time.sleep(0.05)  # the link is up: carrier settles
            cmd = ["ip", "netns", "exec", ns, str(trafgen), "--iface", tap,
                   "--pattern-text", f"data*{count}", "--payload",
                   str(payload), "--no-realtime", "--no-mlock", "--quiet",
                   "--period-us", "1000"]
            if mode:
                cmd += ["--vnet-hdr", mode]
            if ipv6:
                cmd.append("--ipv6")
            subprocess.run(cmd, check=True, timeout=60)
            out, _ = reader.communicate(timeout=30)
        finally:
            reader.kill()
            reader.wait()
    return [json.loads(line) for line in out.splitlines() if line]


@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("mode", ["csum", "gso", None])
def test_header_reaches_the_tap(trafgen, mode, ipv6):
    payload = 3000 if mode == "gso" else 1000
    rows = capture(trafgen, mode, ipv6, 3, payload)
    assert len(rows) == 3, rows
    l4 = 14 + (40 if ipv6 else 20)
    for r in rows:
        assert r["len"] == l4 + 20 + payload
        if mode is None:
            assert r["flags"] == 0 and r["gso_type"] == 0, r
            continue
        assert r["flags"] == 1, r                 # NEEDS_CSUM
        assert (r["csum_start"], r["csum_offset"]) == (l4, 16), r
        if mode == "gso":
            assert r["gso_type"] == (4 if ipv6 else 1), r
            assert r["gso_size"] == 1448, r
        else:
            assert r["gso_type"] == 0, r


def test_cli_refuses_vnet_hdr_misuse(trafgen, tmp_path):
    base = [str(trafgen), "--pattern-text", "data*1"]
    for extra, msg in (
            (["--pcap", str(tmp_path / "x.pcap"), "--vnet-hdr", "csum"],
             "--vnet-hdr needs --iface"),
            (["--iface", "lo", "--vnet-hdr", "tso"],
             "--vnet-hdr must be none, csum or gso"),
            (["--iface", "lo", "--gso-size", "100"],
             "--gso-size must be 1..65535, with --vnet-hdr gso")):
        p = subprocess.run(base + extra, capture_output=True, text=True)
        assert p.returncode != 0
        assert msg in p.stderr, p.stderr
