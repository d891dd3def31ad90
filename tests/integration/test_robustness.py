"""Issue 11: results are never lost and bad input never crashes.

Each test reproduces one defect found by trying to break the rig (output
paths, unwritable results, bad profiles and options, launcher races, stale
temporary directories) against the real binaries, the patched QEMU and real
namespaces.  Device nodes are private copies made with mknod: a regression
must never be able to replace the machine's own /dev/full or /dev/null.
"""

import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, leaked_rig_namespaces, netns_list, rig_binary

PROFILES = SOURCE_DIR / "hck-profiles"
QUICK = PROFILES / "no-rsc.ini"   # 3 qtest scenarios, well under a second


@pytest.fixture(scope="module")
def rig(build_dir, root, qemu_binary):
    return rig_binary(build_dir, "rig/harness/rig")


@pytest.fixture(scope="module")
def trafgen(build_dir):
    return rig_binary(build_dir, "rig/trafgen/rsc-trafgen")


def run(cmd, qemu=None, timeout=300, **kw):
    env = dict(os.environ)
    if qemu:
        env["RIG_QEMU"] = str(qemu)
    return subprocess.run([str(c) for c in cmd], env=env, capture_output=True,
                          text=True, timeout=timeout, **kw)


def chardev(path, minor):
    """A private character device: 1,3 is null, 1,7 is full."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return path


def is_chardev(path):
    return stat.S_ISCHR(os.lstat(path).st_mode)


class Mount:
    """A tmpfs mounted for one test, unmounted on every exit path."""

    def __init__(self, where, options):
        self.where = where
        where.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                        str(where)], check=True)

    def __enter__(self):
        return self.where

    def __exit__(self, *exc):
        subprocess.run(["umount", str(self.where)], check=False)


# --- item 1: output paths are written through, never replaced --------------

def test_json_onto_device_is_written_through(rig, qemu_binary, tmp_path):
    full = chardev(tmp_path / "full", 7)
    r = run([rig, "run", QUICK, "--json", full], qemu_binary)
    assert r.returncode == 2, r.stdout + r.stderr
    assert is_chardev(full), "the device node was replaced by a file"
    assert f"{full}: writing failed: No space left on device" in r.stderr
    assert "results: json" not in r.stdout


def test_outputs_through_symlink_fifo_and_stdout(rig, qemu_binary, tmp_path):
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    null = chardev(tmp_path / "null", 3)
    r = run([rig, "run", QUICK, "--json", link, "--junit", null],
            qemu_binary)
    assert r.returncode == 0, r.stdout + r.stderr
    assert link.is_symlink() and is_chardev(null)
    assert json.loads(target.read_text())["verdict"] == "pass"
    assert f"results: json {link} junit {null}" in r.stdout

    # a FIFO gets one document (not one per scenario), at the end
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(
        target=lambda: got.setdefault("text", fifo.read_text()))
    reader.start()
    r = run([rig, "run", QUICK, "--json", fifo], qemu_binary)
    reader.join(60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(got["text"])["complete"] is True

    # "-" or /dev/stdout: the JSON alone on stdout, the table on stderr
    for name in ["-", "/dev/stdout"]:
        r = run([rig, "run", QUICK, "--json", name], qemu_binary)
        assert r.returncode == 0, r.stdout + r.stderr
        assert json.loads(r.stdout)["verdict"] == "pass"
        assert "verdict: PASS" in r.stderr
    # stdout redirected to a file: appended there, the file not replaced
    redirected = tmp_path / "redirected.txt"
    with open(redirected, "w") as out:
        out.write("before\n")
        out.flush()
        r = subprocess.run([str(rig), "run", str(QUICK), "--json",
                            "/dev/stdout"], stdout=out, stderr=subprocess.PIPE,
                           text=True, env=dict(os.environ,
                                               RIG_QEMU=str(qemu_binary)))
        assert r.returncode == 0, r.stderr
        assert os.fstat(out.fileno()).st_nlink == 1
    text = redirected.read_text()
    assert text.startswith("before\n{")
    assert json.loads(text[len("before\n"):])["complete"] is True


def test_trafgen_outputs_written_through(trafgen, tmp_path):
    null = chardev(tmp_path / "null", 3)
    target = tmp_path / "t.pcap"
    link = tmp_path / "l.pcap"
    link.symlink_to(target)
    r = run([trafgen, "--pcap", link, "--count", "3", "-q", "--json", null])
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and is_chardev(null)
    assert target.stat().st_size > 24
    full = chardev(tmp_path / "full", 7)
    r = run([trafgen, "--pcap", full, "--count", "3", "-q"])
    assert r.returncode == 1 and "No space left on device" in r.stderr
    assert is_chardev(full)


# --- item 2: a requested output that can not be written is an error --------

def test_unwritable_output_exits_2_before_any_work(rig, qemu_binary,
                                                    tmp_path):
    before = netns_list()
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (["--json", tmp_path / "nodir" / "x.json"], "No such file"),
        (["--junit", tmp_path / "nodir" / "x.xml"], "No such file"),
        (["--json", tmp_path], "is a directory"),
        (["--pcap", blocker / "sub"], "Not a directory"),
    ]
    with Mount(tmp_path / "ro", "ro,size=1m") as ro:
        cases.append((["--json", ro / "x.json"], "Read-only file system"))
        for args, reason in cases:
            r = run([rig, "run", QUICK, *args], qemu_binary, timeout=30)
            assert r.returncode == 2, (args, r.stdout, r.stderr)
            assert str(args[1]) in r.stderr and reason in r.stderr, r.stderr
            assert "starting QEMU" not in r.stdout and "[1/" not in r.stdout
            assert "results:" not in r.stdout
    assert not (tmp_path / "nodir").exists()
    assert leaked_rig_namespaces(before) == set()


def test_output_lost_later_exits_2_naming_file(rig, qemu_binary, tmp_path):
    """The check passes (an empty file fits) but the report does not."""
    with Mount(tmp_path / "small", "size=16k") as small:
        out = small / "x.json"
        r = run([rig, "run", QUICK, "--json", out], qemu_binary)
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"{out}: writing failed: No space left on device" in r.stderr
        assert "results: json" not in r.stdout
        assert not out.exists()
        assert os.listdir(small) == [], "a temporary file was left"
    with Mount(tmp_path / "small2", "size=16k") as small:
        xml = small / "x.xml"
        # the JUnit is lost, the JSON (elsewhere) says so
        (small / "fill").write_bytes(b"x" * 8192)
        r = run([rig, "run", QUICK, "--junit", xml, "--json",
                 tmp_path / "ok.json"], qemu_binary)
        assert r.returncode == 2, r.stdout + r.stderr
        assert str(xml) in r.stderr and "No space left" in r.stderr
        doc = json.loads((tmp_path / "ok.json").read_text())
        assert doc["exit_code"] == 2 and str(xml) in doc["error"]
        assert f"results: json {tmp_path / 'ok.json'}\n" in r.stdout


# --- item 3: an empty pattern knob segfaulted ------------------------------

EMPTY_KNOB = """[profile]
version = 1
name = knob
clock = qtest
[device]
rsc_interval_us = 300
[scenario s1]
family = ipv4
pattern = data*4:,fin
"""


def test_empty_pattern_knob_is_an_error(rig, trafgen, qemu_binary, tmp_path):
    profile = tmp_path / "knob.ini"
    profile.write_text(EMPTY_KNOB)
    r = run([rig, "run", profile], qemu_binary, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{profile}: [scenario s1] pattern:" in r.stderr
    assert "empty knob" in r.stderr
    for text in ["data:", "data*4:,fin"]:
        r = run([trafgen, "--pcap", tmp_path / "x.pcap", "--pattern-text",
                 text])
        assert r.returncode == 2, (text, r.stderr)
        assert "empty knob after ':'" in r.stderr


# --- item 6: the launcher read the pid after GLib may have reaped it --------

def test_qemu_exiting_at_once_is_reported(rig, build_dir, tmp_path):
    """rig run and rig-guest with --qemu /bin/true: each start fails
    cleanly (exit 2, "exited"), never a crash (3 % of starts before)."""
    guest = rig_binary(build_dir, "rig/guest/rig-guest")
    for i in range(25):
        r = run([rig, "run", "--qemu", "/bin/true", QUICK], timeout=30)
        assert r.returncode == 2, (i, r.returncode, r.stderr)
        assert "exited" in r.stderr
        r = run([guest, "--qemu", "/bin/true"], timeout=30)
        assert r.returncode == 2, (i, r.returncode, r.stderr)
        assert "exited" in r.stderr


# --- item 4: period_us = 0 (documented "unpaced") aborted off qtest ---------

UNPACED = """[profile]
version = 1
name = unpaced-{clock}
clock = {clock}
[device]
rsc_interval_us = 300
[scenario s1]
family = ipv4
pattern = whql
count = 20
period_us = 0
"""


@pytest.mark.parametrize("clock", ["realtime", "free"])
def test_unpaced_scenario_runs(rig, qemu_binary, tmp_path, clock):
    profile = tmp_path / "unpaced.ini"
    profile.write_text(UNPACED.format(clock=clock))
    before = netns_list()
    out = tmp_path / "u.json"
    r = run([rig, "run", profile, "--json", out], qemu_binary, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    sent = doc["scenarios"][0]["views"]["sent"]["totals"]
    assert sent["segments"] == 20
    assert leaked_rig_namespaces(before) == set()


# --- item 10: a killed rig left /tmp/rig-qemu-* forever ---------------------

LONG = """[profile]
version = 1
name = long
clock = free
[device]
rsc_interval_us = 300
[scenario long]
family = ipv4
pattern = whql
count = 100000
"""


def qemu_runtime_dir(rig_pid):
    """The runtime directory of the QEMU that @rig_pid started, from
    QEMU's own command line (its -qmp / -qtest socket path)."""
    out = subprocess.run(["pgrep", "-P", str(rig_pid)], capture_output=True,
                         text=True).stdout.split()
    for pid in out:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        for arg in argv:
            m = re.search(r"(?:path=|unix:)(/[^,]+\.sock)",
                          arg.decode(errors="replace"))
            if m:
                return Path(m.group(1)).parent
    return None


def test_stale_runtime_dir_removed_by_next_run(rig, qemu_binary, tmp_path):
    profile = tmp_path / "long.ini"
    profile.write_text(LONG)
    env = dict(os.environ, RIG_QEMU=str(qemu_binary))
    proc = subprocess.Popen([str(rig), "run", str(profile)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    left = None
    try:
        # the scenario's QEMU: the same one twice, 0.5 s apart (a probe
        # QEMU may come and go first)
        deadline = time.monotonic() + 60
        seen = None
        while time.monotonic() < deadline:
            now = qemu_runtime_dir(proc.pid)
            if now is not None and now == seen:
                left = now
                break
            seen = now
            time.sleep(0.5)
        assert left is not None, "no QEMU with a runtime directory appeared"
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert left.is_dir(), "SIGKILL gives no chance to clean up"
    r = run([rig, "run", QUICK], qemu_binary)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not left.exists(), f"{left} (of a killed rig) is still there"


# --- item 9: a payload above the MSS failed at run time ---------------------

@pytest.mark.parametrize("pattern, extra, expect", [
    ("whql", "payload = 1461",
     "[scenario s1] payload: expected an integer from 1 to 1460 (the IPv4 "
     "MSS at the tap's MTU of 1500)"),
    ("data*2:len=1449:ts", "",
     "[scenario s1] pattern: pattern step 1: len=1449 makes a 1501-byte IP "
     "packet"),
    ("data*3:ts,fin", "payload = 1460",
     "[scenario s1] payload: 1460 bytes with pattern step 1's options make a "
     "1512-byte IP packet, more than the tap's MTU of 1500"),
])
def test_payload_above_mss_is_a_load_error(rig, qemu_binary, tmp_path,
                                           pattern, extra, expect):
    text = (UNPACED.format(clock="free").replace("period_us = 0", extra)
            .replace("pattern = whql", f"pattern = {pattern}"))
    profile = tmp_path / "big.ini"
    profile.write_text(text)
    r = run([rig, "run", profile], qemu_binary, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{profile}: {expect}" in r.stderr, r.stderr
    assert "starting QEMU" not in r.stdout


# --- smaller: negative numbers and out-of-range priorities ------------------

@pytest.mark.parametrize("args, expect", [
    (["--count", "-1"], "--count must not be negative, got -1"),
    (["--priority", "1000"], "--priority must be 1..99 (SCHED_FIFO), got 1000"),
    (["--priority", "-3"], "--priority must be 1..99"),
    (["--cpu", "-1"], "--cpu must be 0.."),
    (["--live-timeout-ms", "-5"], "--live-timeout-ms must be at least 1"),
    (["--phase-us", "-1"], "must not be negative"),
    (["--rsc-interval-us", "-1"], "must not be negative"),
    (["--flows", "-1"], "--flows must be 1..1024"),
    (["--payload", "-1"], "--payload must be 0..65000"),
])
def test_trafgen_rejects_bad_numbers(trafgen, tmp_path, args, expect):
    r = run([trafgen, "--pcap", tmp_path / "x.pcap", "-q", *args])
    assert r.returncode == 2, (args, r.stderr)
    assert expect in r.stderr, r.stderr
    assert not (tmp_path / "x.pcap").exists()


# --- smaller: two profiles with one name overwrote each other's captures ---

def test_same_profile_name_refused(rig, qemu_binary, tmp_path):
    copy = tmp_path / "copy.ini"
    copy.write_text(QUICK.read_text())
    r = run([rig, "run", QUICK, copy, "--pcap", tmp_path / "pcap"],
            qemu_binary, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f'{copy}: [profile] name: "no-rsc" is also the name of' in r.stderr
    assert "starting QEMU" not in r.stdout
    clash = tmp_path / "clash.ini"
    clash.write_text(UNPACED.format(clock="qtest").replace("period_us = 0", "")
                     .replace("[scenario s1]", "[scenario a b]")
                     + "[scenario a_b]\nfamily = ipv4\npattern = whql\n")
    r = run([rig, "run", clash, "--pcap", tmp_path / "pcap"], qemu_binary,
            timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "[scenario a_b]: its capture unpaced-qtest--a_b-sent.pcap would " \
           "overwrite" in r.stderr
