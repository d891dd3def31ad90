"""The compatibility matrix: ci/matrix-merge on rows made to cover every
kind of cell, ci/matrix end to end on real QEMUs (Debian 12's 7.2 and the
rig's stock build), and the example CI jobs that fan the matrix out.
"""

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import SOURCE_DIR, require

MERGE = SOURCE_DIR / "ci" / "matrix-merge"
MATRIX = SOURCE_DIR / "ci" / "matrix"
DEBIAN_QEMU = "/usr/bin/qemu-system-x86_64"
DEFAULT_ROWS = ["debian-12", "10.0-stock", "10.0-fixed", "newest-stock",
                "newest-fixed"]


def check(name, status, detail=None):
    return {"name": name, "status": status, "expected": "x",
            "observed": "y", "detail": detail}


def scenario(name, checks, profile="conformance", error=None):
    return {"profile": profile, "name": name, "family": "ipv4",
            "pattern": "p", "duration_s": 0.1, "error": error,
            "checks": checks}


def row(tmp_path, name, scenarios, error=None, caps=None):
    run = None if scenarios is None else {
        "schema": "rsc-rig-run/1", "verdict": "pass", "error": None,
        "qemu": {"path": "/q", "version": "1", "capabilities": caps},
        "profiles": [{"name": "conformance",
                      "path": "/nonexistent/synthetic.ini",
                      "clock_fallback": None}],
        "scenarios": scenarios}
    doc = {"schema": "rsc-rig-matrix-row/1", "row": name, "spec": f"/{name}",
           "qemu": f"/{name}", "exit_code": 0, "error": error,
           "build": None, "run": run}
    path = tmp_path / f"{name}.row.json"
    path.write_text(json.dumps(doc))
    return path


def merge(*rows, tmp_path):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    r = subprocess.run(["/usr/bin/python3", str(MERGE), *map(str, rows),
                        "--markdown", str(out / "m.md"), "--json",
                        str(out / "m.json"), "--junit", str(out / "m.xml")],
                       capture_output=True, text=True, timeout=60)
    table = json.loads((out / "m.json").read_text()) \
        if (out / "m.json").exists() else None
    return r, table, out


SKIP_QTEST = ("depends on the deterministic clock: clock = qtest needs "
              "accel-qtest (the qtest accelerator, -accel qtest), which QEMU "
              "7.2.22 (/usr/bin/qemu-system-x86_64) lacks")


def test_every_kind_of_cell(tmp_path):
    stock = row(tmp_path, "stock", [
        scenario("inorder-ipv4", [check("payload-conserved", "pass")]),
        scenario("inorder-ipv6", [check("payload-conserved", "pass")]),
        scenario("ece-ipv4", [check("no-cross-boundary", "xfail",
                                    "known failure: ECE is coalesced; "
                                    "1 violations"),
                              check("oracle-spec", "xfail",
                                    "known: QEMU does not meet the spec yet "
                                    "(profile spec_must_pass = false); frame "
                                    "0: hdr_flags expected 5, observed 4")]),
        scenario("fin-ipv4", [check("payload-conserved", "pass"),
                              check("oracle-qemu", "skip", SKIP_QTEST)]),
        scenario("psh-ipv4", [check("oracle-spec", "xfail",
                                    "known failure on the stock build: PSH "
                                    "from the newest segment only; fixed by "
                                    "0007; frame 0: tcp_flags expected 24, "
                                    "observed 16")]),
        scenario("full-at-drain-ipv4", [check("payload-conserved", "skip",
                                              SKIP_QTEST)],
                 profile="starvation"),
    ])
    fixed = row(tmp_path, "fixed", [
        scenario("inorder-ipv4", [check("payload-conserved", "pass")]),
        scenario("ece-ipv4", [check("no-cross-boundary", "xpass",
                                    "listed as a known failure")]),
        scenario("fin-ipv4", [check("payload-conserved", "pass")]),
        scenario("psh-ipv4", [check("oracle-spec", "pass")]),
        scenario("full-at-drain-ipv4", [check("payload-conserved", "pass")],
                 profile="starvation"),
    ])
    r, table, out = merge(stock, fixed, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [b["name"] for b in table["builds"]] == ["stock", "fixed"]
    assert [x["name"] for x in table["rules"]] == [
        "conformance/inorder", "conformance/ece", "conformance/fin",
        "conformance/psh", "starvation/full-at-drain"]
    assert table["rules"][0]["scenarios"] == ["inorder-ipv4", "inorder-ipv6"]
    cells = {b: {k: v["label"] for k, v in row.items()}
             for b, row in table["cells"].items()}
    assert cells["stock"] == {"conformance/inorder": "pass",
                              "conformance/ece": "deviation",
                              "conformance/fin": "pass*",
                              "conformance/psh": "deviation",
                              "starvation/full-at-drain": "skipped"}
    assert table["cells"]["stock"]["conformance/psh"]["notes"] == [
        "oracle-spec: differs from the spec model (first difference: "
        "tcp_flags)"]
    assert cells["fixed"]["conformance/ece"] == "fixed?"
    notes = table["cells"]["stock"]["conformance/ece"]["notes"]
    assert "no-cross-boundary: ECE is coalesced; 1 violations" in notes
    assert "oracle-spec: differs from the spec model (first difference: " \
        "hdr_flags)" in notes
    assert table["cells"]["stock"]["starvation/full-at-drain"]["notes"] == [
        "skipped payload-conserved: needs accel-qtest"]
    md = (out / "m.md").read_text()
    assert "| build | inorder | ece | fin | psh | starvation: full-at-drain |" \
        in md
    assert "| stock | pass | deviation<sup>" in md
    # Every non-pass cell has a note that exists.
    for line in md.splitlines():
        if line.startswith("| stock") or line.startswith("| fixed"):
            for cell in line.strip("|").split("|")[1:]:
                cell = cell.strip()
                if cell != "pass":
                    n = cell.split("<sup>")[1].split("</sup>")[0]
                    for num in n.split(","):
                        assert f"\n{num}. " in md
    suites = ET.parse(out / "m.xml").getroot()
    stock_suite = suites.find("testsuite[@name='stock']")
    assert stock_suite.get("tests") == "5"
    assert stock_suite.get("failures") == "0"
    assert stock_suite.get("skipped") == "3"


def test_a_failure_and_an_error_set_the_exit_status(tmp_path):
    bad = row(tmp_path, "bad", [
        scenario("inorder-ipv4", [check("payload-conserved", "fail",
                                        "4000 bytes lost")])])
    r, table, out = merge(bad, tmp_path=tmp_path)
    assert r.returncode == 1
    assert table["cells"]["bad"]["conformance/inorder"]["label"] == "FAIL"
    assert "<failure" in (out / "m.xml").read_text()
    broken = row(tmp_path, "broken", None,
                 error="ci/build-qemu --base newest failed")
    r, table, out = merge(bad, broken, tmp_path=tmp_path)
    assert r.returncode == 2
    cell = table["cells"]["broken"]["conformance/inorder"]
    assert cell["label"] == "error"
    assert "ci/build-qemu --base newest failed" in cell["notes"][0]
    errored = row(tmp_path, "errored", [
        scenario("inorder-ipv4", [], error="QEMU was killed")])
    r, table, out = merge(errored, tmp_path=tmp_path)
    assert r.returncode == 2
    assert table["cells"]["errored"]["conformance/inorder"]["label"] == \
        "error"


def test_a_deviation_missing_on_the_clock_fallback_is_inconclusive(tmp_path):
    path = row(tmp_path, "old", [
        scenario("padding-ipv4", [check("payload-conserved", "xpass",
                                        "listed in stock_known_failures"),
                                  check("rsc-info", "pass")])])
    doc = json.loads(path.read_text())
    doc["run"]["profiles"][0]["clock_fallback"] = "needs accel-qtest (...)"
    path.write_text(json.dumps(doc))
    r, table, _ = merge(path, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    cell = table["cells"]["old"]["conformance/padding"]
    assert cell["label"] == "pass*"
    assert cell["notes"] == ["skipped payload-conserved: needs accel-qtest"]


def test_a_rule_a_build_did_not_run_is_an_error(tmp_path):
    a = row(tmp_path, "a", [scenario("fin-ipv4", [check("rsc-info", "pass")]),
                            scenario("rst-ipv4", [check("rsc-info", "pass")])])
    b = row(tmp_path, "b", [scenario("fin-ipv4", [check("rsc-info", "pass")])])
    r, table, _ = merge(a, b, tmp_path=tmp_path)
    assert r.returncode == 2
    assert table["cells"]["b"]["conformance/rst"] == {
        "label": "error", "notes": ["no result for this rule"],
        "checks": {"pass": 0, "fail": 0, "xfail": 0, "xpass": 0, "skip": 0}}


def test_bad_input_is_refused(tmp_path):
    a = row(tmp_path, "a", [])
    (tmp_path / "dup").mkdir()
    b = row(tmp_path / "dup", "a", [])
    r, _, _ = merge(a, b, tmp_path=tmp_path)
    assert r.returncode == 2 and "the same build twice: a" in r.stderr
    junk = tmp_path / "junk.row.json"
    junk.write_text('{"schema": "something-else"}')
    r, _, _ = merge(junk, tmp_path=tmp_path)
    assert r.returncode == 2 and "not a matrix row" in r.stderr
    notjson = tmp_path / "x.row.json"
    notjson.write_text("{")
    r, _, _ = merge(notjson, tmp_path=tmp_path)
    assert r.returncode == 2 and str(notjson) in r.stderr


@pytest.fixture(scope="module")
def stock_binary():
    proc = subprocess.run([str(SOURCE_DIR / "ci" / "build-qemu"), "--stock",
                           "--print-binary"], capture_output=True, text=True,
                          timeout=3600)
    require(proc.returncode == 0, f"no stock build: {proc.stderr[-300:]}")
    return proc.stdout.strip()


def test_matrix_end_to_end(build_dir, root, stock_binary, tmp_path):
    require(os.access(DEBIAN_QEMU, os.X_OK),
            "Debian's qemu-system-x86 is not installed (ci/setup installs it)")
    out = tmp_path / "results"
    env = dict(os.environ, RIG_BUILD_DIR=str(build_dir))
    r = subprocess.run([str(MATRIX), "--no-setup", "--out", str(out),
                        "--profile", str(SOURCE_DIR / "hck-profiles" /
                                         "whql-rsc.ini"),
                        "--profile", str(SOURCE_DIR / "hck-profiles" /
                                         "starvation.ini"),
                        f"debian-12={DEBIAN_QEMU}",
                        "stock=build-qemu --stock"],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    table = json.loads((out / "matrix.json").read_text())
    assert [b["name"] for b in table["builds"]] == ["debian-12", "stock"]
    assert table["builds"][1]["qemu"] == stock_binary
    assert table["builds"][1]["build_record"]["build"] == "stock"
    assert table["builds"][0]["version"].startswith("7.2.")
    cells = table["cells"]
    # Debian's 7.2: the whql rules pass without the counters it lacks, the
    # starvation scenario (needs the virtual clock) is skipped whole.
    assert cells["debian-12"]["whql-rsc/sanity"]["label"] == "pass*"
    assert "needs rsc-stats" in cells["debian-12"]["whql-rsc/sanity"][
        "notes"][0]
    assert cells["debian-12"]["starvation/full-at-drain"]["label"] == \
        "skipped"
    assert cells["stock"]["whql-rsc/sanity"]["label"] == "pass"
    assert cells["stock"]["starvation/full-at-drain"]["label"] == "deviation"
    for name in ("debian-12", "stock"):
        assert (out / f"{name}.row.json").exists()
        assert (out / f"{name}.junit.xml").exists()
    md = (out / "matrix.md").read_text()
    assert md in r.stdout
    assert "| debian-12 |" in md and "| stock |" in md


def test_matrix_refuses_unknown_rows(tmp_path):
    r = subprocess.run([str(MATRIX), "--no-setup", "--only", "nope"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no such row" in r.stderr
    r = subprocess.run([str(MATRIX), "--no-setup", "a=/x", "a=/y"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "given twice" in r.stderr


def test_ci_examples_fan_out_the_default_rows():
    help_text = subprocess.run([str(MATRIX), "--help"], capture_output=True,
                               text=True, check=True).stdout
    for name in DEFAULT_ROWS:
        assert f"  {name}=" in help_text
    gitlab = yaml.safe_load((SOURCE_DIR / "ci" / "gitlab-ci.yml").read_text())
    job = gitlab["matrix-row"]
    assert job["parallel"]["matrix"] == [{"ROW": DEFAULT_ROWS}]
    assert any('ci/matrix --only "$ROW"' in s for s in job["script"])
    assert gitlab["matrix"]["needs"] == ["matrix-row"]
    assert any("ci/matrix-merge matrix-results/*.row.json" in s
               for s in gitlab["matrix"]["script"])
    github = yaml.safe_load((SOURCE_DIR / "ci" /
                             "github-matrix.yml").read_text())
    rowjob = github["jobs"]["row"]
    assert rowjob["strategy"]["matrix"]["row"] == DEFAULT_ROWS
    assert any("ci/matrix --only" in s.get("run", "")
               for s in rowjob["steps"])
    merge_job = github["jobs"]["merge"]
    assert merge_job["needs"] == "row"
    assert any("ci/matrix-merge matrix-results/*.row.json" in s.get("run", "")
               for s in merge_job["steps"])


def test_readme_shows_the_table_of_the_five_builds():
    """The headline result: the README's matrix block has a row for every
    default build in each table, and every footnote a cell cites."""
    readme = (SOURCE_DIR / "README.md").read_text()
    block = readme.split("<!-- matrix:begin")[1].split("<!-- matrix:end")[0]
    tables = [line for line in block.splitlines() if line.startswith("| ")]
    headers = [line for line in tables if line.startswith("| build |")]
    assert headers
    for name in DEFAULT_ROWS:
        assert sum(line.startswith(f"| {name} |") for line in tables) == \
            len(headers), name
    notes = {int(n) for n in re.findall(r"^(\d+)\. ", block, re.M)}
    for line in tables:
        for cell in line.strip("|").split("|")[1:]:
            if "<sup>" in cell:
                cited = cell.split("<sup>")[1].split("</sup>")[0].split(",")
                assert {int(c) for c in cited} <= notes, cell
            else:
                assert cell.strip() in ("pass",) or line.startswith(
                    "| build |"), cell

