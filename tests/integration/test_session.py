"""`rig session`: a studio and two clients, for real.

The VMs are small Linux guests built at test time from Debian packages
(tests/integration/guest-image/build-guest.sh): Debian's kernel, a busybox
initramfs with virtio_net and e1000e, and an init that configures its NICs
from their MACs, pings and sends TCP data to the studio over the control
network and to the other client over the test network, and prints "RIG ..."
lines on the serial console.  Each VM also gets a tiny qcow2 disk so that the
--image path is exercised (through overlays in the end-to-end test, with
-snapshot in the others), and the studio a world NIC (QEMU user networking)
whose port forward the test uses from 127.0.0.1.  KVM is used when the rig's
probe finds it fast enough, else TCG.
"""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, have_tool, netns, require, rig_binary

GUEST_BUILDER = SOURCE_DIR / "tests/integration/guest-image/build-guest.sh"
CACHE = Path(os.environ.get("XDG_CACHE_HOME",
                            Path.home() / ".cache")) / "rsc-rig" / "guest-image"
BOOT_TIMEOUT = 150


@pytest.fixture(scope="module")
def rig(build_dir, root, qemu_binary):
    return rig_binary(build_dir, "rig/harness/rig")


@pytest.fixture(scope="module")
def guest(root):
    require(have_tool("cpio") and Path("/bin/busybox").exists(),
            "busybox-static and cpio needed (ci/setup)")
    subprocess.run([str(GUEST_BUILDER), str(CACHE)], check=True)
    return CACHE


@pytest.fixture(scope="module")
def images(tmp_path_factory, qemu_binary):
    qemu_img = qemu_binary.parent / "qemu-img"
    if not qemu_img.exists():
        qemu_img = "qemu-img"
    require(qemu_img != "qemu-img" or have_tool("qemu-img"),
            "qemu-img needed (apt-get install qemu-utils)")
    d = tmp_path_factory.mktemp("images")
    paths = {}
    for vm in ("studio", "client1", "client2"):
        paths[vm] = d / f"{vm}.qcow2"
        subprocess.run([str(qemu_img), "create", "-q", "-f", "qcow2",
                        str(paths[vm]), "16M"], check=True)
    return paths


def write_profile(path, guest, session_extra="", extra=""):
    path.write_text(f"""[session]
cpus = 1
memory = 256
kernel = {guest / 'vmlinuz'}
initrd = {guest / 'initrd.img'}
append = console=ttyS0 panic=-1 quiet loglevel=3
{session_extra}
[test]
rsc_interval = 1000000
{extra}""")
    return path


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tcp_listeners(port):
    """Local addresses (hex, as in /proc/net/tcp*) listening on port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if int(hexport, 16) == port and fields[3] == "0A":
                found.append(addr)
    return found


def send_through_forward(port, data, serial, needle, timeout=60):
    """Sends data to 127.0.0.1:port until the guest reports it.

    QEMU's user networking accepts on the host at once and only then
    connects to the guest, so a guest that does not listen yet shows as a
    connection that closes early: retry until the serial console has the
    guest's report.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(data)
        except OSError:
            pass
        end = time.monotonic() + 3
        while time.monotonic() < end:
            if needle in serial.read_text(errors="replace"):
                return
            time.sleep(0.2)
    pytest.fail(f"{serial.name}: no '{needle}' after sending {len(data)} "
                f"bytes to 127.0.0.1:{port} for {timeout} s")


def run_rig(rig, *args, check=True, timeout=120):
    proc = subprocess.run([str(rig), "session", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"rig session {' '.join(map(str, args))} exited "
                    f"{proc.returncode}\nstdout:\n{proc.stdout}\n"
                    f"stderr:\n{proc.stderr}")
    return proc


def image_args(images):
    out = []
    for vm, path in images.items():
        out += ["--image", f"{vm}={path}"]
    return out


def netns_exists(name):
    return Path("/run/netns", name).exists()


def pids_with(marker):
    """Live (non-zombie) processes whose command line mentions marker."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(proc.name))
    return found


def assert_all_gone(state_dir, session_dir, netns):
    deadline = time.monotonic() + 10
    while pids_with(str(session_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pids_with(str(session_dir)) == []
    assert netns is None or not netns_exists(netns)
    assert not session_dir.exists()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True,
                           text=True).stdout
    assert f"rs{session_dir.name}c1tst" not in links


def tap_tx_offload(ns, tap):
    """Whether TX checksum offload is on for tap (ethtool -k), in ns."""
    cmd = ["ethtool", "-k", tap]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("tx-checksumming:"):
            return line.split(":")[1].split()[0] == "on"
    pytest.fail(f"ethtool -k {tap}: no tx-checksumming line:\n{out}")


def link_details(ns, name):
    cmd = ["ip", "-d", "link", "show", name]
    if ns:
        cmd = ["ip", "-n", ns, "-d", "link", "show", name]
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout


def force_cleanup(rig, state_dir):
    subprocess.run([str(rig), "session", "down", "--all", "--state-dir",
                    str(state_dir)], capture_output=True, timeout=120)


def wait_serial(path, needles, timeout=BOOT_TIMEOUT):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if all(n in text for n in needles):
            return text
        time.sleep(0.5)
    missing = [n for n in needles if n not in text]
    rig_lines = "\n".join(line for line in text.splitlines() if "RIG" in line)
    pytest.fail(f"{path.name}: missing {missing} after {timeout} s; "
                f"RIG lines so far:\n{rig_lines}")


def test_profile_errors_name_file_group_key(rig, tmp_path):
    bad = tmp_path / "bad.ini"
    bad.write_text("[session]\nclients = 2\n[client1]\n"
                   "test_mac = 52:54:00:00:00:02\n")
    proc = run_rig(rig, "up", bad, "--state-dir", tmp_path / "state",
                   check=False)
    assert proc.returncode == 2
    assert f"{bad}: [client1] test_mac:" in proc.stderr
    assert "169.254.1" in proc.stderr
    assert not (tmp_path / "state").exists() or \
        list((tmp_path / "state").iterdir()) == []


def test_missing_image_is_a_usage_error(rig, guest, tmp_path):
    profile = write_profile(tmp_path / "p.ini", guest)
    proc = run_rig(rig, "up", profile, "--state-dir", tmp_path / "state",
                   "--image", "studio=/nonexistent.qcow2", check=False)
    assert proc.returncode == 2
    assert "client1" in proc.stderr or "studio" in proc.stderr


def test_qemu_refusing_to_start_leaves_nothing(rig, guest, images, tmp_path):
    """QEMU exits at start (unknown CPU model): the error quotes QEMU and
    the namespace, taps and state made so far are gone."""
    state_dir = tmp_path / "state"
    profile = write_profile(tmp_path / "p.ini", guest,
                            session_extra="clients = 1\n"
                                          "cpu = rig-no-such-cpu\n")
    proc = run_rig(rig, "up", profile, "--id", "201", "--state-dir",
                   state_dir, "--image", f"studio={images['studio']}",
                   "--image", f"client1={images['client1']}", check=False)
    try:
        assert proc.returncode == 1, proc.stderr
        assert "QEMU for studio failed to start" in proc.stderr
        assert "rig-no-such-cpu" in proc.stderr
        assert list(state_dir.iterdir()) == [state_dir / ".lock"]
        netns_dir = Path("/run/netns")
        names = os.listdir(netns_dir) if netns_dir.exists() else []
        assert [n for n in names if n.startswith("rig-s201-")] == []
        assert pids_with(str(state_dir)) == []
    finally:
        force_cleanup(rig, state_dir)


def test_host_namespace_mode_and_host_bridge(rig, guest, images, tmp_path):
    """netns = false: bridges and taps in the rig's own namespace, and
    host_bridge: the control network on an existing bridge.  The rig runs
    inside a namespace of the test's own, which plays the host, so that the
    real host's networking is never touched."""
    state_dir = tmp_path / "state"
    profile = write_profile(tmp_path / "p.ini", guest,
                            session_extra="netns = false\n"
                                          "host_bridge = labbr0\n",
                            extra="tap_tx_offload = true\n")

    def rig_in(ns, *args):
        proc = subprocess.run(["ip", "netns", "exec", ns, str(rig), "session",
                               *map(str, args)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"rig session {args[0]} exited {proc.returncode}\n"
                        f"{proc.stdout}\n{proc.stderr}")
        return proc

    def links(ns, *args):
        out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", *args],
                             check=True, capture_output=True, text=True)
        return {line.split(":")[1].strip().split("@")[0]
                for line in out.stdout.splitlines()}

    with netns() as ns:
        subprocess.run(["ip", "-n", ns, "link", "add", "labbr0", "type",
                        "bridge"], check=True)
        try:
            rig_in(ns, "up", profile, "--id", "202", "--state-dir", state_dir,
                   *image_args(images))
            state = json.loads((state_dir / "202" / "state.json").read_text())
            assert state["netns"] is None
            assert links(ns, "master", "labbr0") == {
                "rs202stctl", "rs202c1ctl", "rs202c2ctl"}
            assert links(ns, "master", "rs202tst") == {
                "rs202c1tst", "rs202c2tst"}
            assert "rs202ctl" not in links(ns)
            # tap_tx_offload = true: the guest driver's choice stays on the
            # test taps (Linux's virtio_net takes checksum offload), the
            # control taps are kept off.
            assert state["test_tap_tx_offload"] is True
            wait_serial(state_dir / "202" / "client1-serial.log",
                        ["RIG role client1"])
            deadline = time.monotonic() + 10
            while not tap_tx_offload(ns, "rs202c1tst") and \
                    time.monotonic() < deadline:
                time.sleep(0.2)
            assert tap_tx_offload(ns, "rs202c1tst")
            assert not tap_tx_offload(ns, "rs202c1ctl")
            assert "qlen 11000" in link_details(ns, "rs202tst")
            status = json.loads(rig_in(ns, "status", "--json", "--state-dir",
                                       state_dir).stdout)
            assert [vm["process"] for vm in status["vms"]] == ["running"] * 3
            rig_in(ns, "down", "--state-dir", state_dir)
            # The rig's own bridge and every tap are gone; the lab bridge,
            # which the rig did not make, stays.
            assert links(ns) == {"lo", "labbr0"}
            assert_all_gone(state_dir, state_dir / "202", None)
        finally:
            subprocess.run(["ip", "netns", "exec", ns, str(rig), "session",
                            "down", "--all", "--state-dir", str(state_dir)],
                           capture_output=True, timeout=120)


def test_session_end_to_end(rig, guest, images, tmp_path):
    """Overlay disks, world network with a forward, both test networks."""
    state_dir = tmp_path / "state"
    profile = write_profile(tmp_path / "studio-2clients.ini", guest,
                            session_extra="disk_mode = overlay\n",
                            extra="[world]\nenabled = true\n"
                                  "forwards = 5003\n"
                                  "[client1]\nqueues = 2\n"
                                  "link_speed = 10000\n"
                                  "trace_events = virtio_set_status\n"
                                  "[client2]\nextra_nic = e1000e\n")
    image_sums = {vm: sha256(path) for vm, path in images.items()}
    netns = None
    try:
        up = run_rig(rig, "up", profile, "--state-dir", state_dir,
                     *image_args(images), timeout=180)
        assert "session 1 is up" in up.stdout
        for vm in ("studio", "client1", "client2"):
            assert f"  {vm}: pid" in up.stdout
        assert "VNC 127.0.0.1:" in up.stdout
        session_dir = state_dir / "1"
        state = json.loads((session_dir / "state.json").read_text())
        netns = state["netns"]
        assert netns_exists(netns)

        # Overlay mode: each VM writes to a qcow2 overlay in the state dir
        # whose backing file is the user's image.
        qemu_img = Path(state["qemu"]).parent / "qemu-img"
        for vm, image in images.items():
            overlay = session_dir / f"{vm}-overlay.qcow2"
            info = json.loads(subprocess.run(
                [str(qemu_img if qemu_img.exists() else "qemu-img"), "info",
                 "-U", "--output=json", str(overlay)],
                check=True, capture_output=True, text=True).stdout)
            assert info["backing-filename"] == str(image)

        status = json.loads(run_rig(rig, "status", "--json", "--state-dir",
                                    state_dir).stdout)
        vms = {vm["name"]: vm for vm in status["vms"]}
        assert set(vms) == {"studio", "client1", "client2"}
        test_macs = []
        for name, vm in vms.items():
            assert vm["process"] == "running", vm
            assert vm["run_state"] == "running", vm
            assert vm["vnc"].startswith("127.0.0.1:")
            assert vm["accel"] in ("kvm", "tcg")
            nets = {nic["network"]: nic for nic in vm["nics"]}
            assert nets["control"]["model"] == "e1000e"
            if name == "studio":
                assert "test" not in nets
                assert nets["world"]["model"] == "e1000e"
                continue
            assert "world" not in nets
            assert nets["test"]["model"] == "virtio-net-pci"
            test_macs.append(nets["test"]["mac"])
            assert vm["test_nic"]["guest_rsc_ext"] is True
            assert vm["test_nic"]["rsc_interval"] == 1000000
            assert vm["test_nic"]["rsc_ext_offered"] is True
            assert vm["test_nic"]["rsc_ext_negotiated"] in (True, False)
        assert test_macs[0].split(":")[5] != test_macs[1].split(":")[5]

        # Taps as HCK labs set them: TX offload off (control and test by
        # default), txqueuelen 11000, taps and bridges.
        for tap in ("rs1stctl", "rs1c1ctl", "rs1c1tst", "rs1c2tst",
                    "rs1c2x"):
            assert not tap_tx_offload(netns, tap), tap
            assert "qlen 11000" in link_details(netns, tap), tap
        assert "qlen 11000" in link_details(netns, "tst")
        # client1: a two-queue test NIC (multi-queue tap, mq=on with
        # 2 * 2 + 2 vectors) at 10 Gbit/s, and its own trace log.
        # QEMU detaches the queues the guest does not use (numdisabled).
        tap = re.search(r"multi_queue numqueues (\d+) numdisabled (\d+)",
                        link_details(netns, "rs1c1tst"))
        assert tap and int(tap[1]) + int(tap[2]) == 2
        assert "multi_queue" not in link_details(netns, "rs1c2tst")
        assert vms["client1"]["test_nic"]["vectors"] == 6
        assert [n["queues"] for n in vms["client1"]["nics"]
                if n["network"] == "test"] == [2]
        assert vms["client1"]["trace_log"] == \
            str(session_dir / "client1-trace.log")
        assert vms["client2"]["trace_log"] is None
        # client2: an extra NIC on the control network (file transfer).
        extra = [n for n in vms["client2"]["nics"] if n["network"] == "extra"]
        assert [(n["model"], n["tap"], n["bridge"]) for n in extra] == \
            [("e1000e", "rs1c2x", "ctl")]
        ctl_ports = subprocess.run(
            ["ip", "-n", netns, "-o", "link", "show", "master", "ctl"],
            check=True, capture_output=True, text=True).stdout
        assert "rs1c2x" in ctl_ports

        # The studio's forward listens on loopback only.
        forwards = vms["studio"]["forwards"]
        assert [f["guest"] for f in forwards] == [5003]
        host_port = forwards[0]["host"]
        assert tcp_listeners(host_port) == ["0100007F"]

        # The guests run the network checks themselves.
        wait_serial(session_dir / "client1-serial.log", [
            "RIG role client1",
            "RIG ping control 169.254.100.1 ok",
            "RIG ping test 169.254.1.2 ok",
            "RIG tcp-tx control 169.254.100.1 1048576 ok",
            "RIG tcp-rx test bytes=4194304",
            "RIG done"])
        client1 = wait_serial(session_dir / "client1-serial.log",
                              ["RIG role client1"])
        test_nic = [line for line in client1.splitlines()
                    if f"mac={test_macs[0]} net=02" in line]
        assert test_nic and test_nic[0].endswith(" speed=10000"), test_nic
        trace = (session_dir / "client1-trace.log").read_text(errors="replace")
        assert "virtio_set_status" in trace
        wait_serial(session_dir / "client2-serial.log", [
            "mac=52:54:00:01:04:02 net=04",
            "RIG role client2",
            "RIG ping control 169.254.100.1 ok",
            "RIG ping test 169.254.1.1 ok",
            "RIG tcp-tx test 169.254.1.1 4194304 ok",
            "RIG done"])
        studio_log = session_dir / "studio-serial.log"
        studio = wait_serial(studio_log, ["RIG role studio"])
        deadline = time.monotonic() + 30
        while studio.count("RIG tcp-rx control bytes=1048576") < 2 and \
                time.monotonic() < deadline:
            time.sleep(0.5)
            studio = studio_log.read_text(errors="replace")
        assert studio.count("RIG tcp-rx control bytes=1048576") == 2

        # The guests' drivers have set their offloads meanwhile (QEMU's
        # TUNSETOFFLOAD turns the taps' TX offload back on): the session's
        # keep-offloads process has switched it off again.
        deadline = time.monotonic() + 10
        taps = ("rs1stctl", "rs1c1ctl", "rs1c1tst", "rs1c2tst", "rs1c2x")
        while any(tap_tx_offload(netns, t) for t in taps) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        assert [t for t in taps if tap_tx_offload(netns, t)] == []
        assert "TX offload of" in \
            (session_dir / "keep-offloads.log").read_text()

        # Host -> 127.0.0.1 forward -> studio's world NIC, port 5003.
        send_through_forward(host_port, b"w" * 65536, studio_log,
                             "RIG tcp-rx world bytes=65536")

        # Device view from QEMU's rsc-stats (the patched QEMU); the Linux
        # guests run no agent, which stats must say in one sentence.
        stats = json.loads(run_rig(rig, "stats", "--json", "--state-dir",
                                   state_dir, timeout=60).stdout)
        assert [e["vm"] for e in stats] == ["client1", "client2"]
        for entry, name in zip(stats, ("client1", "client2")):
            device = entry["device"]
            assert "problem" not in device, device
            for family in ("ipv4", "ipv6"):
                assert len(device[family]) == 27
                assert all(isinstance(v, int) and v >= 0
                           for v in device[family].values())
            negotiated = vms[name]["test_nic"]["rsc_ext_negotiated"]
            assert device["rsc_ext_negotiated"] is negotiated
            # QEMU's coalescer runs only when the driver took RSC_EXT (NetKVM
            # does, Linux's virtio_net does not): client1 received 4 MiB.
            if name == "client1" and negotiated:
                assert device["ipv4"]["received"] > 0
            if not negotiated:
                assert sum(device["ipv4"].values()) == 0
            assert "no guest agent answers" in entry["guest"]["problem"]
        text = run_rig(rig, "stats", "client2", "--state-dir",
                       state_dir).stdout
        assert "device view (QEMU rsc-stats)" in text
        assert "coalesced" in text and "no guest agent answers" in text
        # Only the guest view is unavailable (no agent in the Linux guests).
        assert text.count("unavailable:") == 1, text

        si = run_rig(rig, "set-interval", "client1", "500000",
                     "--state-dir", state_dir, check=False)
        if si.returncode == 0:
            assert "rsc_interval is now 500000" in si.stdout
        else:
            assert si.returncode == 3, si.stderr
            assert "restart" in si.stderr

        # A QEMU killed behind the rig's back: status says so, and `down`
        # still removes everything.
        os.kill(vms["client2"]["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = json.loads(run_rig(rig, "status", "--json",
                                        "--state-dir", state_dir).stdout)
            gone = {vm["name"]: vm["process"] for vm in status["vms"]}
            if gone["client2"] == "gone":
                break
            time.sleep(0.2)
        assert gone == {"studio": "running", "client1": "running",
                        "client2": "gone"}
        down = run_rig(rig, "down", "--state-dir", state_dir)
        assert "session 1 is down" in down.stdout
        assert_all_gone(state_dir, session_dir, netns)
        assert tcp_listeners(host_port) == []
        # Overlays kept every write away from the user's images.
        assert {vm: sha256(p) for vm, p in images.items()} == image_sums
    finally:
        force_cleanup(rig, state_dir)
        if netns and netns_exists(netns):
            subprocess.run(["ip", "netns", "del", netns])


def test_sigint_during_up_removes_everything(rig, guest, images, tmp_path):
    state_dir = tmp_path / "state"
    profile = write_profile(tmp_path / "p.ini", guest)
    proc = subprocess.Popen([str(rig), "session", "up", str(profile),
                             "--id", "7", "--state-dir", str(state_dir),
                             *image_args(images)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    session_dir = state_dir / "7"
    netns = None
    try:
        # Interrupt once the first VM runs, while the others start.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                state = json.loads((session_dir / "state.json").read_text())
            except (OSError, ValueError):
                state = {}
            netns = state.get("netns") or netns
            if any(vm.get("pid") for vm in state.get("vms", [])):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "up finished before it could be stopped"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in err
        assert_all_gone(state_dir, session_dir, netns)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        force_cleanup(rig, state_dir)
        if netns and netns_exists(netns):
            subprocess.run(["ip", "netns", "del", netns])


def one_client_profile(tmp_path, guest):
    return write_profile(tmp_path / "p1.ini", guest,
                         session_extra="clients = 1\n")


def one_client_images(images):
    return {vm: images[vm] for vm in ("studio", "client1")}


@pytest.mark.parametrize("kill_at", ["studio.pid", "client1.pid"])
def test_down_after_killed_up_leaves_no_qemu(rig, guest, images, tmp_path,
                                             kill_at):
    """Issue 11, item 5: `up` killed with SIGKILL while a QEMU starts
    (its pidfile exists, the state may not have its pid yet), then
    `down`: no process of the session may survive a `down` that reports
    success."""
    state_dir = tmp_path / "state"
    profile = one_client_profile(tmp_path, guest)
    session_dir = state_dir / "9"
    proc = subprocess.Popen(
        [str(rig), "session", "up", str(profile), "--id", "9",
         "--state-dir", str(state_dir),
         *image_args(one_client_images(images))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    netns = None
    try:
        deadline = time.monotonic() + 60
        while not (session_dir / kill_at).exists() and \
                time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        assert proc.poll() is None, "up finished before it could be killed"
        proc.kill()
        proc.wait()
        state = json.loads((session_dir / "state.json").read_text())
        netns = state["netns"]
        # The VM being started is in the state already.
        assert kill_at.split(".")[0] in [vm["name"] for vm in state["vms"]]
        down = run_rig(rig, "down", "--id", "9", "--state-dir", state_dir,
                       check=False)
        assert down.returncode == 0, down.stderr
        assert pids_with(str(session_dir) + "/") == []
        assert_all_gone(state_dir, session_dir, netns)
    finally:
        if proc.poll() is None:
            proc.kill()
        force_cleanup(rig, state_dir)
        for pid in pids_with(str(session_dir) + "/"):
            os.kill(pid, signal.SIGKILL)
        if netns and netns_exists(netns):
            subprocess.run(["ip", "netns", "del", netns])


def write_state(state_dir, sid, state):
    d = state_dir / str(sid)
    d.mkdir(parents=True, mode=0o700)
    state_dir.chmod(0o700)
    (d / "state.json").write_text(json.dumps(state))
    (d / "state.json").chmod(0o600)
    return d


def test_crafted_state_runs_no_shell(rig, tmp_path):
    """Issue 11, item 7: names read back from state.json never reach a
    shell; a state directory others could write is refused."""
    state_dir = tmp_path / "state"
    marker = tmp_path / "F"
    d = write_state(state_dir, 5, {
        "version": 1, "id": 5, "netns": None, "rsc_interval": 300000,
        "host_bridges": [f"x; touch {marker}"], "vms": []})
    proc = run_rig(rig, "down", "--id", "5", "--state-dir", state_dir,
                   check=False)
    assert not marker.exists()
    assert proc.returncode == 1, proc.stderr
    assert f"{d}/state.json: not a valid session state file: " \
        "host_bridges[0]: not an interface name" in proc.stderr
    assert d.exists()

    # The same file, valid, in a directory the group may write: refused.
    (d / "state.json").write_text(json.dumps({
        "version": 1, "id": 5, "netns": None, "rsc_interval": 300000,
        "host_bridges": [], "vms": []}))
    d.chmod(0o770)
    proc = run_rig(rig, "status", "--id", "5", "--state-dir", state_dir,
                   check=False)
    assert proc.returncode == 1
    assert f"{d} is writable by group or others" in proc.stderr
    d.chmod(0o700)
    assert run_rig(rig, "down", "--id", "5", "--state-dir",
                   state_dir).returncode == 0
    assert not d.exists()


@pytest.mark.parametrize("command", [["stats", "client1"], ["status"],
                                     ["set-interval", "client1", "1000"],
                                     ["down"]])
def test_corrupt_state_is_one_clear_error(rig, tmp_path, command):
    """Issue 11, item 11: {"vms":[{}]} crashed `stats` and made `status`
    print "(null)"; every command now names the file and what is wrong."""
    state_dir = tmp_path / "state"
    d = write_state(state_dir, 4, {"vms": [{}]})
    proc = run_rig(rig, *command, "--id", "4", "--state-dir", state_dir,
                   check=False)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "(null)" not in proc.stdout + proc.stderr
    assert "CRITICAL" not in proc.stderr and "WARNING" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{d}/state.json: not a valid session state file" in lines[0]


def test_image_path_with_comma_and_directory(rig, guest, images, tmp_path):
    """A comma in an image path is doubled for -drive file=; a directory
    is not reported as "not found"."""
    state_dir = tmp_path / "state"
    profile = one_client_profile(tmp_path, guest)
    comma = tmp_path / "studio,disk.qcow2"
    comma.write_bytes(images["studio"].read_bytes())
    bad = run_rig(rig, "up", profile, "--state-dir", state_dir,
                  "--image", f"studio={tmp_path}",
                  "--image", f"client1={images['client1']}", check=False)
    assert bad.returncode == 2
    assert f"{tmp_path} is a directory, not a disk image" in bad.stderr
    assert "not found" not in bad.stderr
    try:
        run_rig(rig, "up", profile, "--id", "11", "--state-dir", state_dir,
                "--image", f"studio={comma}",
                "--image", f"client1={images['client1']}", timeout=180)
        status = json.loads(run_rig(rig, "status", "--json", "--id", "11",
                                    "--state-dir", state_dir).stdout)
        vms = {vm["name"]: vm for vm in status["vms"]}
        assert vms["studio"]["process"] == "running"
        assert vms["studio"]["image"] == str(comma)
        run_rig(rig, "down", "--id", "11", "--state-dir", state_dir)
    finally:
        force_cleanup(rig, state_dir)


def test_down_with_damaged_state_still_stops_its_processes(rig, tmp_path):
    """A state file too damaged to act on names no interface `down` may
    delete, but the session's processes are still found by the session
    directory on their command line: `down` stops them and fails."""
    state_dir = tmp_path / "state"
    d = write_state(state_dir, 6, {"vms": [{}]})
    stray = subprocess.Popen(["/usr/bin/python3", "-c",
                              "import time; time.sleep(120)", f"{d}/x.qmp"])
    try:
        proc = run_rig(rig, "down", "--id", "6", "--state-dir", state_dir,
                       check=False)
        assert proc.returncode == 1
        assert "not a valid session state file" in proc.stderr
        assert stray.wait(timeout=20) is not None
        assert d.exists()
    finally:
        if stray.poll() is None:
            stray.kill()
