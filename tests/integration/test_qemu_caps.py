"""The capability probe against real binaries, and `rig run`, `rig smoke`
and `rig-guest` on a QEMU that lacks capabilities (Debian 12's own 7.2).

Each binary must give exactly its capability set:
  Debian 12's 7.2     rsc-ext only (no qtest accelerator, no counters, no
                      trace events, rsc_interval fixed once realized)
  the rig's builds    accel-qtest, rsc-ext, rsc-stats; rsc-trace when the
                      series adds virtio_net_rsc_* trace events;
                      rsc-interval-writable only with the fix that makes
                      rsc_interval writable (never on stock)
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, require, rig_binary

DEBIAN_QEMU = Path("/usr/bin/qemu-system-x86_64")
PROFILES = SOURCE_DIR / "hck-profiles"
CAPS = {"accel-qtest", "rsc-ext", "rsc-stats", "rsc-trace",
        "rsc-interval-writable"}


@pytest.fixture(scope="module")
def rig(build_dir):
    return rig_binary(build_dir, "rig/harness/rig")


@pytest.fixture(scope="module")
def debian_qemu():
    require(os.access(DEBIAN_QEMU, os.X_OK),
            "Debian's qemu-system-x86 is not installed (ci/setup installs it)")
    out = subprocess.run([str(DEBIAN_QEMU), "--version"], capture_output=True,
                         text=True, check=True).stdout
    require("Debian" in out and " 7.2." in out,
            f"{DEBIAN_QEMU} is not Debian 12's QEMU 7.2: {out.splitlines()[0]}")
    return DEBIAN_QEMU


def probe(rig, qemu):
    r = subprocess.run([str(rig), "caps", "--json", "--qemu", str(qemu)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["capabilities"]) == CAPS
    assert doc["missing"] == [c for c in doc["capabilities"]
                              if not doc["capabilities"][c]]
    return doc


def have(doc):
    return {c for c, v in doc["capabilities"].items() if v}


def series_patches(names):
    """The patch files of a build record, wherever qemu-patches/ keeps them."""
    found = []
    for name in names:
        paths = sorted((SOURCE_DIR / "qemu-patches").rglob(name))
        assert paths, f"{name} (from the build record) not in qemu-patches/"
        found.append(paths[0])
    return found


def expected_rig_caps(qemu):
    """What a ci/build-qemu build must offer, from its build record."""
    record = json.loads((qemu.parent.parent / "rig-qemu-build.json")
                        .read_text())
    patches = record["patches"]
    fixes = record.get("fix_patches", [])
    expected = {"accel-qtest", "rsc-ext", "rsc-stats"}
    if any("\n+virtio_net_rsc_" in p.read_text()
           for p in series_patches(patches)):
        expected.add("rsc-trace")
    if any("rsc_interval" in f or "rsc-interval" in f for f in fixes):
        expected.add("rsc-interval-writable")
    return record, expected


def test_debian_72_capabilities(rig, debian_qemu):
    doc = probe(rig, debian_qemu)
    assert doc["version"].startswith("7.2.")
    assert doc["package"].startswith("Debian 1:7.2")
    assert have(doc) == {"rsc-ext"}
    assert doc["trace_events"] == []
    assert "after it was realized" in doc["rsc_interval_detail"]


def test_rig_build_capabilities(rig, qemu_binary):
    record, expected = expected_rig_caps(qemu_binary)
    doc = probe(rig, qemu_binary)
    assert doc["version"] == record["qemu_version"]
    assert have(doc) == expected, record["patches"]
    if "rsc-trace" in expected:
        assert all(e.startswith("virtio_net_rsc_")
                   for e in doc["trace_events"])


def test_stock_build_capabilities(rig):
    stock = os.environ.get("RIG_QEMU_STOCK", "")
    if not stock:
        pytest.skip("RIG_QEMU_STOCK unset: no separate stock build in this "
                    "checkout")
    record, expected = expected_rig_caps(Path(stock))
    doc = probe(rig, stock)
    assert "rsc-interval-writable" not in have(doc)
    assert have(doc) == expected, record["patches"]


def test_probe_of_something_else_exits_2(rig, tmp_path):
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text("#!/bin/sh\necho 'not QEMU' >&2\nexit 1\n")
    fake.chmod(0o755)
    r = subprocess.run([str(rig), "caps", "--qemu", str(fake)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"{fake} could not be probed" in r.stderr
    assert "not QEMU" in r.stderr


def run_on_debian(rig, qemu, profile, tmp_path):
    out = tmp_path / f"{profile}.json"
    r = subprocess.run([str(rig), "run", "--qemu", str(qemu),
                        str(PROFILES / f"{profile}.ini"), "--json", str(out)],
                       capture_output=True, text=True, timeout=600)
    return r, json.loads(out.read_text())


def checks(doc):
    return [(s["name"], c) for s in doc["scenarios"] for c in s["checks"]]


def test_whql_on_debian_72(rig, root, debian_qemu, tmp_path):
    r, doc = run_on_debian(rig, debian_qemu, "whql-rsc", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert doc["verdict"] == "pass" and doc["complete"]
    caps = doc["qemu"]["capabilities"]
    assert caps["version"].startswith("7.2.")
    assert caps["missing"] == ["accel-qtest", "rsc-stats", "rsc-trace",
                               "rsc-interval-writable"]
    assert doc["profiles"][0]["qemu_capabilities"] == caps
    device = [c for _, c in checks(doc) if c["name"] == "device-counters"]
    assert device and all(c["status"] == "skip" for c in device)
    assert all("needs rsc-stats" in c["detail"] for c in device)
    assert "7.2" in device[0]["detail"]


def test_conformance_on_debian_72_falls_back(rig, root, debian_qemu,
                                             tmp_path):
    r, doc = run_on_debian(rig, debian_qemu, "conformance", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "invalid accelerator" not in r.stdout + r.stderr
    assert "needs accel-qtest" in r.stdout
    p = doc["profiles"][0]
    assert p["clock"] == "free"
    assert "accel-qtest" in p["clock_fallback"]
    all_checks = checks(doc)
    assert not [c for _, c in all_checks if c["status"] == "fail"]
    by_name = {}
    for _, c in all_checks:
        by_name.setdefault(c["name"], set()).add(c["status"])
    # Timing-exact checks are skipped, naming the capability...
    for name in ("oracle-qemu", "oracle-spec", "device-counters"):
        assert by_name[name] == {"skip"}, name
    for _, c in all_checks:
        if c["name"].startswith("oracle-"):
            assert "needs accel-qtest" in c["detail"]
    # ...the structural rules are still checked, on every scenario.
    for name in ("payload-conserved", "segments-conserved",
                 "no-cross-boundary", "frame-size", "rsc-info"):
        assert by_name[name] <= {"pass", "xfail", "xpass"}, name
    assert len(doc["scenarios"]) >= 50


def test_starvation_on_debian_72_is_skipped_whole(rig, root, debian_qemu,
                                                  tmp_path):
    r, doc = run_on_debian(rig, debian_qemu, "starvation", tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    for name, c in checks(doc):
        assert c["status"] == "skip", (name, c)
        assert "full-at-drain" in c["detail"]
        assert "needs accel-qtest" in c["detail"]


def test_smoke_on_debian_72_says_what_it_lacks(rig, root, debian_qemu):
    r = subprocess.run([str(rig), "smoke", "--qemu", str(debian_qemu)],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert "invalid accelerator" not in out
    assert "no qtest accelerator" in out
    # It ran: the interval was read, the missing counters are the problem.
    assert "rsc_interval:  300000 ns" in r.stdout
    assert r.returncode == 1
    assert "rsc-stats unavailable" in r.stdout


def test_rig_guest_on_debian_72(build_dir, root, debian_qemu):
    guest = rig_binary(build_dir, "rig/guest/rig-guest")
    r = subprocess.run([str(guest), "--qemu", str(debian_qemu),
                        "--clock", "deterministic", "-t", "0.5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "invalid accelerator" not in r.stderr
    assert "deterministic clock needs accel-qtest" in r.stderr
    assert "--clock free" in r.stderr and "ci/build-qemu" in r.stderr
    # The default clock falls back to QEMU's own clocks and runs.
    r = subprocess.run([str(guest), "--qemu", str(debian_qemu), "-t", "0.5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "using --clock free" in r.stderr
    assert "clock free" in r.stderr
