"""`rig smoke` end to end: the patched QEMU on a vnet_hdr tap in a private
network namespace, its RSC properties read over QMP, and nothing left behind
(QEMU process, namespace, tap, runtime directory) whether the run ends
normally, QEMU is SIGKILLed during --hold, or the rig gets SIGINT/SIGTERM.
"""

import json
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import netns_list, rig_binary

RIG = "rig/harness/rig"
TAP = "rigtap0"
COUNTERS = [
    "received", "coalesced", "over_size", "cache", "empty_cache",
    "no_match_cache", "win_update", "no_match", "tcp_syn", "tcp_ctrl_drain",
    "dup_ack", "pure_ack", "ack_out_of_win", "data_out_of_win",
    "data_out_of_order", "data_after_pure_ack", "bypass_not_tcp",
    "tcp_option", "tcp_all_opt", "ip_frag", "ip_ecn", "ip_hacked", "ip_option",
    "purge_failed", "drain_failed", "final_failed", "timer",
]
EXIT_OK, EXIT_CHECK_FAILED, EXIT_CANNOT_RUN = 0, 1, 2


@pytest.fixture
def rig(build_dir):
    return rig_binary(build_dir, RIG)


def pid_alive(pid):
    """True while @pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_alive(pid)


def qemu_cmdline(pid):
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [arg.decode() for arg in raw.split(b"\0") if arg]


def runtime_dir_of(cmdline):
    """The private directory holding QEMU's QMP socket."""
    for arg in cmdline:
        if arg.startswith("socket,id=rig-qmp,path="):
            return Path(arg.split("path=", 1)[1]).parent
    raise AssertionError(f"no QMP chardev in {cmdline}")


def assert_clean(netns, qemu_pid, runtime_dir=None):
    assert wait_gone(qemu_pid), f"QEMU pid {qemu_pid} still runs"
    assert netns not in netns_list(), f"netns {netns} left behind"
    assert not Path("/run/netns", netns).exists()
    host_tap = subprocess.run(["ip", "link", "show", TAP],
                              capture_output=True)
    assert host_tap.returncode != 0, "a tap appeared in the host namespace"
    if runtime_dir is not None:
        assert not runtime_dir.exists(), f"{runtime_dir} left behind"


def force_cleanup(netns, qemu_pid):
    """Last resort after a failed assertion, so a red test leaves nothing."""
    if qemu_pid and pid_alive(qemu_pid):
        os.kill(qemu_pid, signal.SIGKILL)
    if netns and netns in netns_list():
        subprocess.run(["ip", "netns", "del", netns], check=False)


def check_stats_zero(stats):
    assert set(stats) == {"ipv4", "ipv6"}
    for family in ("ipv4", "ipv6"):
        assert sorted(stats[family]) == sorted(COUNTERS), family
        assert all(stats[family][name] == 0 for name in COUNTERS), \
            stats[family]
    assert sum(len(stats[f]) for f in stats) == 54


def test_help(rig):
    out = subprocess.run([rig, "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "smoke" in out.stdout
    out = subprocess.run([rig, "smoke", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0
    for option in ("--qemu", "--rsc-interval", "--hold", "--json"):
        assert option in out.stdout
    out = subprocess.run([rig, "no-such-command"], capture_output=True,
                         text=True)
    assert out.returncode == EXIT_CANNOT_RUN
    assert "unknown command" in out.stderr


def run_smoke_once(rig, *args, timeout=120):
    """`rig smoke ARGS`; returns (the rig's pid, CompletedProcess)."""
    cmd = [str(rig), "smoke", *map(str, args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.pid, subprocess.CompletedProcess(cmd, proc.returncode,
                                                 stdout, stderr)


def own_namespaces(pid):
    """Namespaces of one rig process: other runs may add their own."""
    return {n for n in netns_list() if n.startswith(f"rig-{pid}-")}


def test_missing_qemu(rig, tmp_path):
    missing = tmp_path / "no" / "qemu-system-x86_64"
    pid, out = run_smoke_once(rig, "--qemu", missing, timeout=60)
    assert out.returncode == EXIT_CANNOT_RUN
    assert str(missing) in out.stderr
    assert "ci/build-qemu" in out.stderr
    assert own_namespaces(pid) == set()


def test_missing_qemu_from_env(rig, tmp_path):
    missing = tmp_path / "qemu-from-env"
    env = dict(os.environ, RIG_QEMU=str(missing))
    out = subprocess.run([rig, "smoke", "--json"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == EXIT_CANNOT_RUN
    assert str(missing) in out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "error"
    assert str(missing) in result["error"]


def test_smoke_json(rig, qemu_binary, root):
    out = subprocess.run(
        [rig, "smoke", "--qemu", str(qemu_binary), "--json",
         "--rsc-interval", "250000"],
        capture_output=True, text=True, timeout=120)
    result = json.loads(out.stdout) if out.stdout.strip() else {}
    try:
        assert out.returncode == EXIT_OK, out.stderr
        assert result["verdict"] == "pass"
        assert result["problems"] == []
        assert result["rsc_interval_requested"] == 250000
        assert result["rsc_interval"] == 250000
        check_stats_zero(result["rsc_stats"])
        assert result["netns"].startswith("rig-")
        assert result["tap"] == TAP
        assert_clean(result["netns"], result["qemu_pid"])
    finally:
        force_cleanup(result.get("netns"), result.get("qemu_pid"))


def test_smoke_human(rig, qemu_binary, root):
    out = subprocess.run([rig, "smoke", "--qemu", str(qemu_binary)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == EXIT_OK, out.stderr
    assert "rsc_interval:  300000 ns" in out.stdout
    assert "verdict:       pass" in out.stdout
    for name in COUNTERS:
        assert f"  {name} " in out.stdout


def test_stale_namespace_is_reaped(rig, qemu_binary, root):
    """A rig killed by SIGKILL leaves its namespace; the next run reaps it."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"rig-{dead.pid}-0"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        out = subprocess.run([rig, "smoke", "--qemu", str(qemu_binary)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == EXIT_OK, out.stderr
        assert stale not in netns_list()
    finally:
        force_cleanup(stale, None)


class Held:
    """`rig smoke --hold` running in the background until its ready line."""

    def __init__(self, rig, qemu, hold="-1"):
        self.proc = subprocess.Popen(
            [rig, "smoke", "--qemu", str(qemu), "--json",
             "--rsc-interval", "250000", "--hold", hold],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.result = None
        self.ready = {}
        self.runtime_dir = None

    def wait_ready(self, timeout=60.0):
        # Raw reads: a buffered readline could swallow the ready line.
        fd = self.proc.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        pending = b""
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AssertionError("no ready line in time")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(
                    f"rig ended before ready: {self.proc.stderr.read()}")
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in (raw.decode() for raw in lines):
                if line.startswith("{"):
                    self.result = json.loads(line)
                elif line.startswith("ready "):
                    self.ready = dict(f.split("=", 1)
                                      for f in line.split()[1:])
        self.pid = int(self.ready["qemu-pid"])
        self.netns = self.ready["netns"]
        self.runtime_dir = runtime_dir_of(qemu_cmdline(self.pid))

    def finish(self, timeout=60):
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        force_cleanup(self.ready.get("netns"),
                      int(self.ready.get("qemu-pid", 0)))


@pytest.fixture
def held(rig, qemu_binary, root):
    smoke = Held(rig, qemu_binary)
    try:
        smoke.wait_ready()
        yield smoke
    finally:
        smoke.cleanup()


def test_hold_shows_the_running_setup(held):
    assert held.result["verdict"] == "pass"
    assert held.result["rsc_interval"] == 250000
    check_stats_zero(held.result["rsc_stats"])
    assert held.ready["tap"] == TAP
    assert held.netns in netns_list()
    assert pid_alive(held.pid)
    cmdline = qemu_cmdline(held.pid)
    assert "qtest" in cmdline[cmdline.index("-accel") + 1]
    device = cmdline[cmdline.index("-device") + 1]
    assert "guest_rsc_ext=on" in device and "rsc_interval=250000" in device
    netdev = cmdline[cmdline.index("-netdev") + 1]
    assert "fd=3" in netdev and "vhost=off" in netdev
    assert (held.runtime_dir.stat().st_mode & 0o777) == 0o700
    # The tap lives in the namespace, up, with IPv6 off.
    link = subprocess.run(["ip", "-n", held.netns, "-j", "link", "show",
                           TAP], capture_output=True, text=True, check=True)
    assert "UP" in json.loads(link.stdout)[0]["flags"]
    ipv6 = subprocess.run(["ip", "netns", "exec", held.netns, "sysctl",
                           "-n", f"net.ipv6.conf.{TAP}.disable_ipv6"],
                          capture_output=True, text=True)
    assert ipv6.returncode != 0 or ipv6.stdout.strip() == "1"
    held.proc.send_signal(signal.SIGTERM)
    code, err = held.finish()
    assert code == EXIT_OK, err
    assert_clean(held.netns, held.pid, held.runtime_dir)


def test_qemu_killed_during_hold(held):
    os.kill(held.pid, signal.SIGKILL)
    code, err = held.finish()
    assert code == EXIT_CANNOT_RUN, err
    assert f"QEMU (pid {held.pid}) was killed by signal 9" in err
    assert "during the hold" in err
    assert_clean(held.netns, held.pid, held.runtime_dir)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_during_hold(held, signum):
    held.proc.send_signal(signum)
    code, err = held.finish()
    # The check had passed; the signal only ends the hold.
    assert code == EXIT_OK, err
    assert f"{signal.Signals(signum).name} received" in err
    assert "cleaned up" in err
    assert_clean(held.netns, held.pid, held.runtime_dir)


def test_hold_times_out(rig, qemu_binary, root):
    smoke = Held(rig, qemu_binary, hold="1")
    try:
        smoke.wait_ready()
        code, err = smoke.finish(timeout=30)
        assert code == EXIT_OK, err
        assert_clean(smoke.netns, smoke.pid, smoke.runtime_dir)
    finally:
        smoke.cleanup()


def test_qemu_failing_at_start(rig, qemu_binary, root, tmp_path):
    """A QEMU that exits during start: exit 2 with its stderr quoted."""
    wrapper = tmp_path / "qemu-bad-machine"
    wrapper.write_text(f"#!/bin/sh\nexec {qemu_binary} \"$@\" -M nosuch\n")
    wrapper.chmod(0o755)
    pid, out = run_smoke_once(rig, "--qemu", wrapper)
    assert out.returncode == EXIT_CANNOT_RUN
    assert "during start" in out.stderr
    assert "unsupported machine type" in out.stderr
    assert own_namespaces(pid) == set()
