"""`rig run` end to end: real patched QEMU, real namespace and tap, the
reference guest over qtest, rsc-trafgen, the oracle.

Covers: ci/certify's command on the default profile, conformance.ini in qemu
mode, no-rsc and starvation, a deliberately wrong expectation (exit 1 naming
the check), a broken profile (exit 2 naming file/group/key), QEMU killed and
SIGINT mid-run (exit 2, partial JSON kept, nothing left behind), and strict
validation of the JSON and JUnit outputs.
"""

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import (SOURCE_DIR, have_tool, leaked_rig_namespaces, netns_list,
                      require, rig_binary)

PROFILES = SOURCE_DIR / "hck-profiles"
STATUSES = {"pass", "fail", "xfail", "xpass", "skip"}
VIEW_KEYS = {"available", "unavailable_reason", "totals", "frames"}
QEMU_KEYS = {"build", "requested", "path", "variant", "version",
             "debian_version", "patch_series_hash", "cache_key", "patches",
             "fix_patches"}
FRAME_KEYS = {"time_ns", "flow", "family", "tcp", "tcp_flags", "tcp_options",
              "seq", "ack", "window", "payload_len", "l3_len", "frame_len",
              "hdr_flags", "gso_type", "gso_size", "csum_start",
              "csum_offset"}


@pytest.fixture(scope="module")
def rig(build_dir, root, qemu_binary):
    return rig_binary(build_dir, "rig/harness/rig")


def run_rig(rig, qemu, *args, timeout=600):
    env = dict(os.environ, RIG_QEMU=str(qemu))
    return subprocess.run([str(rig), "run", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)


def strict_json(path):
    """json.loads that refuses NaN/Infinity and duplicate keys."""
    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
        return dict(pairs)

    def bad_constant(name):
        raise AssertionError(f"non-JSON constant {name}")

    return json.loads(Path(path).read_text(), object_pairs_hook=no_dups,
                      parse_constant=bad_constant)


def validate_view(view):
    assert set(view) == VIEW_KEYS, view.keys()
    assert isinstance(view["available"], bool)
    assert set(view["totals"]) == {"frames", "coalesced_frames", "segments",
                                   "payload_bytes", "dup_acks",
                                   "other_frames"}
    for frame in view["frames"]:
        assert set(frame) == FRAME_KEYS
        assert frame["flow"] is None or isinstance(frame["flow"], int)


def validate_report(doc, complete=True):
    """Schema-ish assertions on the documented results JSON."""
    assert doc["schema"] == "rsc-rig-run/1"
    assert doc["verdict"] in {"pass", "fail", "error"}
    assert doc["exit_code"] == {"pass": 0, "fail": 1, "error": 2}[
        doc["verdict"]]
    assert doc["complete"] is complete
    assert isinstance(doc["duration_s"], (int, float))
    if doc["qemu"] is not None:  # null: the run stopped before any QEMU
        assert set(doc["qemu"]) == QEMU_KEYS | {"capabilities"}
        assert doc["qemu"]["build"] in {"fixed", "stock", "other"}
    for p in doc["profiles"]:
        assert len(p["sha256"]) == 64
        assert p["qemu"] is None or set(p["qemu"]) == QEMU_KEYS
        assert p["clock"] in {"realtime", "qtest", "free"}
    for s in doc["scenarios"]:
        assert {"profile", "name", "family", "pattern", "duration_s",
                "error", "checks", "qemu_build", "trace",
                "trace_file"} <= set(s)
        for c in s["checks"]:
            assert set(c) == {"name", "status", "expected", "observed",
                              "detail"}
            assert c["status"] in STATUSES
            assert c["expected"] and c["observed"]
        if "views" in s:
            v = s["views"]
            validate_view(v["sent"])
            validate_view(v["guest"])
            validate_view(v["oracle"]["qemu"])
            validate_view(v["oracle"]["spec"])
            dev = v["device"]
            if dev["available"]:
                for fam in ("ipv4", "ipv6"):
                    assert len(dev["counters"][fam]) == 27
            else:
                assert dev["unavailable_reason"]
    return doc


def validate_junit(path, doc):
    tree = ET.parse(path)
    suites = tree.getroot()
    assert suites.tag == "testsuites"
    n_checks = sum(len(s["checks"]) for s in doc["scenarios"])
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == n_checks
    for suite in suites.findall("testsuite"):
        tc = suite.findall("testcase")
        assert int(suite.get("tests")) == len(tc)
        assert int(suite.get("failures")) == len(suite.findall(
            "testcase/failure"))
        assert int(suite.get("skipped")) == len(suite.findall(
            "testcase/skipped"))
    failed = {(c["name"]) for s in doc["scenarios"] for c in s["checks"]
              if c["status"] == "fail"}
    assert {c.get("name") for c in cases if c.find("failure") is not None} \
        == failed
    return suites


def checks_by_status(doc, status):
    return [(s["name"], c["name"]) for s in doc["scenarios"]
            for c in s["checks"] if c["status"] == status]


def assert_nothing_left(pid, namespaces_before):
    """No QEMU child of the rig, no namespace of the rig."""
    leftover = subprocess.run(["pgrep", "-P", str(pid)],
                              capture_output=True, text=True).stdout.split()
    assert leftover == [], f"processes left behind: {leftover}"
    mine = {n for n in netns_list() - namespaces_before
            if n.startswith(f"rig-{pid}-")}
    assert not mine, f"namespaces left behind: {mine}"


def test_certify_default_profile(rig, build_dir, qemu_binary, tmp_path):
    """ci/certify itself (set-up, both QEMUs, rig build, the certification
    profiles on fixed, the deterministic ones on stock) certifies the fixed
    QEMU with zero known failures, prints stock's deviations with their
    patches and leaves every output in its results folder."""
    before = netns_list()
    out = tmp_path / "results"
    env = dict(os.environ, RIG_RESULTS=str(out))
    r = subprocess.run([str(SOURCE_DIR / "ci" / "certify"), str(build_dir)],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: PASS (fixed QEMU certified, zero known failures)" in \
        r.stderr
    assert f"results in {out}" in r.stderr
    doc = validate_report(strict_json(out / "rig-run.json"))
    assert doc["verdict"] == "pass"
    assert doc["qemu"]["build"] == "fixed"
    assert {p["name"] for p in doc["profiles"]} == {
        "whql-rsc", "conformance", "starvation"}
    assert checks_by_status(doc, "fail") == []
    assert checks_by_status(doc, "xfail") == []
    stock = validate_report(strict_json(out / "stock" / "rig-run.json"))
    assert stock["qemu"]["build"] == "stock"
    assert "stock deviations:" in r.stdout
    assert "  0006: " in r.stdout  # the header fix shows in most scenarios
    deviations = (out / "stock" / "deviations.txt").read_text()
    assert "conformance/ece-ipv4 no-cross-boundary [fixed by 0003;0006]" in \
        deviations
    # The WHQL bars were evaluated, not skipped.
    whql = [s for s in doc["scenarios"] if s["name"].startswith("whql")]
    for s in whql:
        status = {c["name"]: c["status"] for c in s["checks"]}
        assert status["coalesced-share"] == "pass"
        assert status["coalescing-ratio"] == "pass"
        assert status["device-counters"] == "pass"
        assert s["views"]["guest"]["totals"]["coalesced_frames"] > 0
    validate_junit(out / "rig-run.junit.xml", doc)
    pcaps = sorted(p.name for p in (out / "pcap").iterdir())
    assert "whql-rsc--whql-ipv4-sent.pcap" in pcaps
    assert "whql-rsc--whql-ipv4-received.pcap" in pcaps
    if have_tool("tshark"):
        n = subprocess.run(["tshark", "-r",
                            str(out / "pcap/whql-rsc--whql-ipv4-sent.pcap"),
                            "-T", "fields", "-e", "frame.number"],
                           capture_output=True, text=True, check=True)
        assert len(n.stdout.split()) == 3000
    assert leaked_rig_namespaces(before) == set()


@pytest.fixture(scope="module")
def stock_binary():
    path = os.environ.get("RIG_QEMU_STOCK", "")
    require(path and os.access(path, os.X_OK),
            "no stock QEMU: run ci/build-qemu --stock, then ci/build")
    return path


@pytest.mark.parametrize("build", ["stock", "fixed"])
def test_conformance_on_both_builds(rig, qemu_binary, stock_binary, tmp_path,
                                    build):
    """Every rule's scenario on both builds: stock matches the oracle's qemu
    mode and reports its deviations from spec mode (known failures, never
    hidden); fixed is compared with spec mode only (the fixes it has)."""
    r = run_rig(rig, qemu_binary, PROFILES / "conformance.ini", "--qemu",
                build, "--json", tmp_path / "c.json", "--junit",
                tmp_path / "c.xml")
    doc = validate_report(strict_json(tmp_path / "c.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert doc["qemu"]["build"] == build
    assert doc["qemu"]["path"] == (stock_binary if build == "stock"
                                   else str(qemu_binary))
    assert doc["qemu"]["version"] and doc["qemu"]["patch_series_hash"]
    assert len(doc["scenarios"]) >= 30
    for s in doc["scenarios"]:
        status = {c["name"]: c["status"] for c in s["checks"]}
        assert s["qemu_build"] == build
        assert status["device-counters"] == "pass", s["name"]
        if build == "stock":
            assert status["oracle-qemu"] == "pass", s["name"]
            assert status["oracle-spec"] in {"pass", "xfail"}, s["name"]
            assert s["views"]["oracle"]["reference"] == "qemu"
        else:
            assert "oracle-qemu" not in status, s["name"]
            assert status["oracle-spec"] == "pass", s["name"]
            assert s["views"]["oracle"]["reference"] == "spec"
    if build == "stock":
        assert checks_by_status(doc, "xfail"), "deviations must be reported"
        for s in doc["scenarios"]:
            for c in s["checks"]:
                if c["status"] == "xfail":
                    assert s["fixed_by"] and "fixed by" in c["detail"], s
    else:
        # Certification: zero known failures on the fixed build.
        assert checks_by_status(doc, "xfail") == []
        assert checks_by_status(doc, "xpass") == []
    validate_junit(tmp_path / "c.xml", doc)


@pytest.mark.parametrize("build", ["stock", "fixed"])
def test_no_rsc_and_starvation(rig, qemu_binary, stock_binary, tmp_path,
                               build):
    """RX ring full at drain time: stock loses the unit (a known failure
    fixed by 0010), fixed delivers every byte with purge_failed 0."""
    r = run_rig(rig, qemu_binary, PROFILES / "no-rsc.ini",
                PROFILES / "starvation.ini", "--qemu", build, "--json",
                tmp_path / "n.json")
    doc = validate_report(strict_json(tmp_path / "n.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    for s in doc["scenarios"]:
        if s["profile"] == "no-rsc":
            assert s["views"]["guest"]["totals"]["coalesced_frames"] == 0
            continue
        status = {c["name"]: c for c in s["checks"]}
        counters = s["views"]["device"]["counters"][s["family"]]
        if build == "stock":
            assert status["payload-conserved"]["status"] == "xfail"
            assert "lost" in status["payload-conserved"]["observed"]
            assert "0010" in status["payload-conserved"]["detail"]
            assert status["oracle-qemu"]["status"] == "pass"
            assert counters["purge_failed"] > 0
        else:
            assert status["payload-conserved"]["status"] == "pass"
            assert "0 bytes lost" in status["payload-conserved"]["observed"]
            assert status["oracle-spec"]["status"] == "pass"
            assert counters["purge_failed"] == 0
            assert counters["drain_failed"] == counters["final_failed"] == 0


WRONG = """
[profile]
version = 1
name = wrong
clock = qtest
[device]
rsc_interval_us = 300
[scenario inorder]
family = ipv4
pattern = whql
count = 20
period_us = 10
expect_frames = 5
"""


def test_wrong_expectation_fails(rig, qemu_binary, tmp_path):
    profile = tmp_path / "wrong.ini"
    profile.write_text(WRONG)
    r = run_rig(rig, qemu_binary, profile, "--json", tmp_path / "w.json",
                "--junit", tmp_path / "w.xml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "frame-count" in r.stdout and "FAIL" in r.stdout
    assert "expected: 5 data frames" in r.stdout
    doc = validate_report(strict_json(tmp_path / "w.json"))
    assert doc["verdict"] == "fail"
    assert checks_by_status(doc, "fail") == [("inorder", "frame-count")]
    suites = validate_junit(tmp_path / "w.xml", doc)
    failure = suites.find("./testsuite/testcase[@name='frame-count']/failure")
    assert "expected: 5 data frames; observed: 1 data frames" in \
        failure.get("message")


TRACED = WRONG + """
[scenario clean]
family = ipv4
pattern = data*3,fin
period_us = 10
oracle = false
"""


@pytest.mark.parametrize("build", ["stock", "fixed"])
def test_trace_of_failing_scenario(rig, qemu_binary, stock_binary, tmp_path,
                                   build):
    """--trace: QEMU's RSC trace events of the failing scenario, in its JSON
    result and a file beside the results; none for a passing one (without
    the oracle: on stock oracle-spec would be a known failure, and known
    failures get their trace too)."""
    profile = tmp_path / "wrong.ini"
    profile.write_text(TRACED)
    r = run_rig(rig, qemu_binary, profile, "--qemu", build, "--trace",
                "--json", tmp_path / "w.json")
    assert r.returncode == 1, r.stdout + r.stderr
    doc = validate_report(strict_json(tmp_path / "w.json"))
    failed, clean = doc["scenarios"]
    assert failed["trace_file"] == str(tmp_path / "trace" /
                                       "wrong--inorder.trace")
    lines = Path(failed["trace_file"]).read_text().splitlines()
    assert failed["trace"] == lines
    # 20 in-order segments: one cached, 19 coalesced, one timer drain.
    assert sum("virtio_net_rsc_cached" in x for x in lines) == 1, lines
    assert sum("virtio_net_rsc_coalesced" in x for x in lines) == 19, lines
    assert any("virtio_net_rsc_drained" in x and "timer" in x
               for x in lines), lines
    assert all(x.startswith("virtio_net_rsc_") or "virtio_net_rsc_" in x
               for x in lines)
    assert clean["trace"] is None and clean["trace_file"] is None
    assert (tmp_path / "trace" / "wrong.qemu-trace").stat().st_size > 0


@pytest.mark.parametrize("text,where", [
    ("[profile]\nversion = 1\nname = b\n[device]\n[scenario s]\n"
     "family = ipv4\npattern = whql\npayload = lots\n",
     "[scenario s] payload: expected an integer"),
    ("[profile]\nversion = 1\nname = b\n[device]\n[scenario s]\n"
     "family = ipv4\npattern = data*3,bogus\n",
     "[scenario s] pattern:"),
    ("[profile]\nversion = 1\nname = b\n[device]\nrsc_interval = 3\n"
     "[scenario s]\nfamily = ipv4\npattern = whql\n",
     "[device] rsc_interval: unknown key"),
    ("[profile]\nversion = 7\n", "[profile] version: expected 1"),
])
def test_broken_profile_exits_2(rig, qemu_binary, tmp_path, text, where):
    profile = tmp_path / "broken.ini"
    profile.write_text(text)
    r = run_rig(rig, qemu_binary, profile, "--json", tmp_path / "b.json")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{profile}: {where}" in r.stderr
    doc = validate_report(strict_json(tmp_path / "b.json"), complete=False)
    assert doc["verdict"] == "error" and where in doc["error"]


def test_missing_qemu_exits_2(rig, tmp_path):
    r = run_rig(rig, tmp_path / "no-qemu", PROFILES / "no-rsc.ini")
    assert r.returncode == 2
    assert "run ci/build-qemu" in r.stderr


LONG = """
[profile]
version = 1
name = long
clock = free
[device]
rsc_interval_us = 300
[scenario short]
family = ipv4
pattern = whql
count = 200
[scenario long]
family = ipv4
pattern = whql
count = 100000
"""


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def qemu_children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out
            if "qemu" in Path(f"/proc/{p}/comm").read_text()]


@pytest.mark.parametrize("how", ["kill-qemu", "sigint"])
def test_interrupted_run(rig, qemu_binary, tmp_path, how):
    """QEMU killed, or SIGINT to the rig, during the long scenario: exit 2,
    the partial JSON is kept, no process, namespace or tap is left."""
    profile = tmp_path / "long.ini"
    profile.write_text(LONG)
    out = tmp_path / "p.json"
    before = netns_list()
    env = dict(os.environ, RIG_QEMU=str(qemu_binary))
    proc = subprocess.Popen([str(rig), "run", str(profile), "--json",
                             str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(out.exists, 60, "the first scenario's JSON")
        time.sleep(0.5)
        assert proc.poll() is None, "the long scenario ended too early"
        qemu = qemu_children(proc.pid)
        assert len(qemu) == 1
        if how == "kill-qemu":
            os.kill(qemu[0], signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, stdout + stderr
    expect = "killed by signal 9" if how == "kill-qemu" else "interrupted"
    assert expect in stderr
    doc = validate_report(strict_json(out), complete=False)
    assert doc["verdict"] == "error"
    assert expect in doc["error"]
    names = [s["name"] for s in doc["scenarios"]]
    assert names == ["short", "long"]
    assert doc["scenarios"][0]["error"] is None
    assert doc["scenarios"][1]["error"]
    assert not os.path.exists(f"/proc/{qemu[0]}")
    assert_nothing_left(proc.pid, before)


# Fix patches no conformance/starvation scenario shows, and why.
NOT_SHOWN_BY_A_SCENARIO = {
    "0012": "rsc_interval writable on a running VM: test_qemu_caps and "
            "rig session set-interval show it",
    "0014": "a TCP data offset below 5 or past the segment: rsc-trafgen has "
            "no knob for it; the campaign sweeps the data offset",
    "0019": "an out-of-bounds read with no visible effect: the ASan "
            "campaign shows it",
}


def test_every_fix_is_proven_on_both_builds(rig, qemu_binary, stock_binary,
                                            tmp_path):
    """Each fix patch of the series has a scenario that fails on stock (a
    known failure naming the patch) and passes on fixed."""
    series = (SOURCE_DIR / "qemu-patches/10.0/series").read_text()
    fixes = [line.split()[1][:4] for line in series.splitlines()
             if line.startswith("fix ")]
    assert fixes, "the series has no fix patch"
    docs = {}
    for build in ("stock", "fixed"):
        r = run_rig(rig, qemu_binary, PROFILES / "conformance.ini",
                    PROFILES / "starvation.ini", "--qemu", build, "--json",
                    tmp_path / f"{build}.json")
        assert r.returncode == 0, r.stdout + r.stderr
        docs[build] = validate_report(strict_json(tmp_path / f"{build}.json"))
    fixed = {(s["profile"], s["name"]): s for s in docs["fixed"]["scenarios"]}
    proven = {}
    for s in docs["stock"]["scenarios"]:
        failing = [c["name"] for c in s["checks"] if c["status"] == "xfail"]
        if not failing or not s["fixed_by"]:
            continue
        on_fixed = fixed[(s["profile"], s["name"])]
        assert all(c["status"] == "pass" for c in on_fixed["checks"]), \
            on_fixed["name"]
        for patch in s["fixed_by"].split(";"):
            proven.setdefault(patch.strip(), []).append(s["name"])
    for patch in fixes:
        if patch in NOT_SHOWN_BY_A_SCENARIO:
            continue
        assert proven.get(patch), f"no scenario shows fix {patch}"
