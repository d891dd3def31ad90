"""The patched QEMUs from ci/build-qemu are the ones the rig needs.

Two builds: "fixed" (the whole series; the rig's default, RIG_QEMU) and
"stock" (observability patches only).  Checks the installed prefixes (build
record, firmware), that the binary starts with no extra flags under the
qtest accelerator and under TCG with Debian's firmware, that the
observability patches work on both (qom-get of "rsc-stats" on
/machine/peripheral/<id> returns every VirtioNetRscStat counter of both
chains, all zero on a fresh device; the RSC trace events exist), and that
the two builds differ where the fixes say they do.
"""

import json
import os
import re
import select
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import unique_name
from qemu_series import PATCH_DIR, build_qemu, entries, series

DEADLINE = 30.0
# The observability trace events (patch 0002), in both builds.
RSC_TRACE_EVENTS = ["virtio_net_rsc_cached", "virtio_net_rsc_coalesced",
                    "virtio_net_rsc_bypassed", "virtio_net_rsc_finalized",
                    "virtio_net_rsc_drained", "virtio_net_rsc_drain_failed"]


def pinned():
    values = {}
    for line in (PATCH_DIR / "pinned").read_text().splitlines():
        m = re.match(r"^([A-Z_0-9]+)='?([^']*)'?$", line.strip())
        if m:
            values[m.group(1)] = m.group(2)
    return values


@pytest.fixture(scope="module")
def prefix(qemu_binary):
    return qemu_binary.resolve().parent.parent


def read_record(prefix):
    path = prefix / "rig-qemu-build.json"
    assert path.is_file(), f"{path} missing: not a ci/build-qemu prefix"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def record(prefix):
    return read_record(prefix)


@pytest.fixture(scope="module")
def stock_binary():
    return Path(build_qemu("--stock", "--print-binary"))


@pytest.fixture(scope="module", params=["fixed", "stock"])
def any_binary(request, qemu_binary, stock_binary):
    """Each build in turn: what both must do."""
    return qemu_binary if request.param == "fixed" else stock_binary


@pytest.fixture(scope="module")
def stat_fields():
    """Field names of VirtioNetRscStat, from the patched source's header."""
    header = (Path(build_qemu("--print-source", timeout=600))
              / "include/hw/virtio/virtio-net.h")
    m = re.search(r"typedef struct VirtioNetRscStat \{(.*?)\} VirtioNetRscStat;",
                  header.read_text(), re.S)
    assert m, f"no VirtioNetRscStat in {header}"
    fields = re.findall(r"^\s*u?int\d+_t\s+(\w+);", m.group(1), re.M)
    assert "received" in fields and "timer" in fields, fields
    return fields


class Qmp:
    """A minimal QMP client over a unix socket, every read with a deadline."""

    def __init__(self, path):
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.settimeout(DEADLINE)
                self.sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        greeting = self._read()
        assert "QMP" in greeting, greeting
        self.command("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        assert line, "QMP connection closed"
        return json.loads(line)

    def execute(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "event" not in reply:
                return reply

    def command(self, name, **arguments):
        reply = self.execute(name, **arguments)
        assert "return" in reply, f"{name} {arguments}: {reply}"
        return reply["return"]

    def close(self):
        self.file.close()
        self.sock.close()


class Vm:
    """A QEMU process with a QMP socket, killed on every exit path."""

    def __init__(self, binary, tmp_path, args):
        self.qmp_path = tmp_path / f"{unique_name('qmp')}.sock"
        self.log_path = tmp_path / "qemu.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(binary), "-nodefaults", "-display", "none",
             "-qmp", f"unix:{self.qmp_path},server=on,wait=off", *args],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        try:
            self.qmp = Qmp(self.qmp_path)
        except Exception:
            self.stop()
            raise AssertionError(f"QEMU did not start: {self.output()}")

    def output(self):
        self.log.flush()
        return self.log_path.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=DEADLINE)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if hasattr(self, "qmp"):
            self.qmp.close()
        self.stop()


def test_build_record_names_what_was_built(record, qemu_binary):
    pin = pinned()
    assert record["build"] == "fixed", "RIG_QEMU is not the fixed build"
    assert record["base"] == PATCH_DIR.name
    assert record["patches"] == series(), "binary built from another series"
    assert record["observability_patches"] + record["fix_patches"] == (
        record["patches"])
    assert record["fix_patches"] == [n for c, n in entries() if c == "fix"]
    assert record["pinned_version"] == pin["QEMU_DEB_VERSION"]
    if record["pinned"]:
        assert record["debian_version"] == pin["QEMU_DEB_VERSION"]
        assert record["dsc_sha256"] == pin["QEMU_DSC_SHA256"]
        assert record["orig_sha256"] == pin["QEMU_ORIG_SHA256"]
    assert record["debian_version"].split(":")[-1].startswith(
        pin["QEMU_SERIES"] + ".")
    assert "--target-list=x86_64-softmmu" in record["configure_flags"]
    version = subprocess.run([str(qemu_binary), "--version"],
                             capture_output=True, text=True, check=True,
                             timeout=DEADLINE).stdout
    assert f"version {record['qemu_version']}" in version, version


def test_build_qemu_prints_this_binary(qemu_binary):
    printed = Path(build_qemu("--print-binary"))
    assert printed.resolve() == qemu_binary.resolve(), (
        "RIG_QEMU is not the current ci/build-qemu binary: reconfigure")


def test_stock_build_has_only_the_observability_patches(stock_binary,
                                                        record):
    stock = read_record(stock_binary.resolve().parent.parent)
    assert stock["build"] == "stock"
    assert stock["patches"] == series("stock") == stock[
        "observability_patches"]
    assert stock["fix_patches"] == []
    assert stock["patches"] == record["observability_patches"]
    for key in ("debian_version", "dsc_sha256", "orig_sha256",
                "configure_flags", "base"):
        assert stock[key] == record[key], key
    assert stock["series_sha256"] != record["series_sha256"] or not (
        record["fix_patches"])
    assert stock_binary.resolve() != Path(
        build_qemu("--print-binary")).resolve()
    version = subprocess.run([str(stock_binary), "--version"],
                             capture_output=True, text=True, check=True,
                             timeout=DEADLINE).stdout
    assert f"version {stock['qemu_version']}" in version, version


def test_warm_build_qemu_writes_nothing_and_is_quick(stock_binary):
    """Both builds exist: printing them takes no lock and no time."""
    for args in (["--print-binary"], ["--stock", "--print-binary"]):
        start = time.monotonic()
        build_qemu(*args, timeout=60)
        assert time.monotonic() - start < 5, args


def test_rsc_trace_events_exist(any_binary):
    out = subprocess.run([str(any_binary), "-trace", "help"],
                         capture_output=True, text=True, check=True,
                         timeout=DEADLINE).stdout.split()
    missing = [e for e in RSC_TRACE_EVENTS if e not in out]
    assert not missing, f"{any_binary}: no trace events {missing}"


def test_firmware_is_found_without_flags(prefix):
    share = prefix / "share" / "qemu"
    for name in ("bios-256k.bin", "efi-virtio.rom", "efi-e1000e.rom",
                 "vgabios-stdvga.bin", "kvmvapic.bin", "linuxboot_dma.bin"):
        assert (share / name).is_file(), f"{share / name} missing or dangling"


def test_qtest_accelerator_steps_the_clock(any_binary):
    """-accel qtest: no vCPU runs, the virtual clock moves only on request."""
    proc = subprocess.Popen(
        [str(any_binary), "-M", "q35", "-accel", "qtest", "-nodefaults",
         "-display", "none", "-qtest", "stdio"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        replies = []
        for step in (1000000, 2000000):
            proc.stdin.write(f"clock_step {step}\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], DEADLINE)
            assert ready, "qtest did not answer clock_step"
            replies.append(proc.stdout.readline().strip())
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=DEADLINE)
    assert all(re.fullmatch(r"OK \d+", r) for r in replies), (replies, err)
    first, second = (int(r.split()[1]) for r in replies)
    assert second - first == 2000000, replies


def test_tcg_runs_seabios_from_debian(any_binary, tmp_path):
    debug = tmp_path / "seabios.log"
    args = ["-M", "q35", "-accel", "tcg", "-m", "128",
            "-chardev", f"file,id=dbg,path={debug}",
            "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
            "-device", "virtio-net-pci,id=net0"]
    with Vm(any_binary, tmp_path, args) as vm:
        assert vm.qmp.command("query-status")["status"] == "running"
        deadline = time.monotonic() + DEADLINE
        text = ""
        while "Booting from" not in text:
            assert vm.proc.poll() is None, f"QEMU exited: {vm.output()}"
            assert time.monotonic() < deadline, (
                f"SeaBIOS did not reach the boot menu:\n{text}")
            time.sleep(0.1)
            text = debug.read_text(errors="replace")
        assert "SeaBIOS (version" in text
        assert "could not" not in vm.output().lower(), vm.output()


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_rsc_stats_lists_every_counter(any_binary, tmp_path, stat_fields,
                                       family):
    args = ["-M", "q35", "-accel", "qtest",
            "-device", "virtio-net-pci,id=net0,guest_rsc_ext=on,"
                       "rsc_interval=1000000"]
    with Vm(any_binary, tmp_path, args) as vm:
        stats = vm.qmp.command("qom-get", path="/machine/peripheral/net0",
                               property="rsc-stats")
        assert sorted(stats) == ["ipv4", "ipv6"], stats
        assert sorted(stats[family]) == sorted(stat_fields)
        assert all(v == 0 for v in stats[family].values()), stats
        backend = vm.qmp.command(
            "qom-get", path="/machine/peripheral/net0/virtio-backend",
            property="rsc-stats")
        assert backend == stats
        interval = vm.qmp.command("qom-get", path="/machine/peripheral/net0",
                                  property="rsc_interval")
        assert interval == 1000000


def test_rsc_stats_is_read_only(any_binary, tmp_path):
    args = ["-M", "q35", "-accel", "qtest", "-device",
            "virtio-net-pci,id=net0"]
    with Vm(any_binary, tmp_path, args) as vm:
        reply = vm.qmp.execute("qom-set", path="/machine/peripheral/net0",
                               property="rsc-stats", value={})
        assert "error" in reply, reply
        assert vm.qmp.command("qom-get", path="/machine/peripheral/net0",
                              property="rsc_interval") == 300000


def fixed_has(record, words):
    """Whether the fixed build carries a fix patch whose name has @words."""
    return any(words in name for name in record["fix_patches"])


@pytest.mark.parametrize("build", ["fixed", "stock"])
def test_rsc_interval_is_writable_on_fixed_only(build, qemu_binary,
                                                stock_binary, record,
                                                tmp_path):
    """Patch "Make rsc_interval settable on a running device": qom-set works
    and reads back on fixed; stock refuses it after realize."""
    writable = build == "fixed" and fixed_has(record, "rsc_interval-settable")
    binary = qemu_binary if build == "fixed" else stock_binary
    args = ["-M", "q35", "-accel", "qtest", "-device",
            "virtio-net-pci,id=net0,guest_rsc_ext=on,rsc_interval=300000"]
    with Vm(binary, tmp_path, args) as vm:
        reply = vm.qmp.execute("qom-set", path="/machine/peripheral/net0",
                               property="rsc_interval", value=50000)
        value = vm.qmp.command("qom-get", path="/machine/peripheral/net0",
                               property="rsc_interval")
        if writable:
            assert "return" in reply, reply
            assert value == 50000
            backend = vm.qmp.command(
                "qom-get", path="/machine/peripheral/net0/virtio-backend",
                property="rsc_interval")
            assert backend == 50000
            bad = vm.qmp.execute("qom-set", path="/machine/peripheral/net0",
                                 property="rsc_interval", value=-1)
            assert "error" in bad, bad
        else:
            assert "after it was realized" in reply["error"]["desc"], reply
            assert value == 300000


def test_fixed_binary_differs_from_stock_in_the_rsc_code(qemu_binary,
                                                        stock_binary,
                                                        record):
    """The fixed build has the fix series' trace events and strings that
    stock lacks; with no fix patch the two are the same code."""
    fixed_events = subprocess.run(
        [str(qemu_binary), "-trace", "help"], capture_output=True, text=True,
        check=True, timeout=DEADLINE).stdout.split()
    stock_events = subprocess.run(
        [str(stock_binary), "-trace", "help"], capture_output=True,
        text=True, check=True, timeout=DEADLINE).stdout.split()
    extra = sorted(set(fixed_events) - set(stock_events))
    if not record["fix_patches"]:
        assert extra == []
        return
    assert qemu_binary.read_bytes() != stock_binary.read_bytes()
    if fixed_has(record, "Flush-RSC-data"):
        assert "virtio_net_rsc_flush" in extra, extra
    if fixed_has(record, "rsc_interval-settable"):
        assert "virtio_net_rsc_interval" in extra, extra
    assert not set(stock_events) - set(fixed_events)
