"""`rig sweep` end to end: real patched QEMU, real namespaces and taps, the
reference guest, the harness's scenario runner, matplotlib, Chromium.

Covers: a virtual-clock sweep whose measured geometry equals the oracle's
prediction at every point; a wall-clock sweep of 3 points (QEMU's own
timers); --shard 1/2 + 2/2 merged equal to the unsharded report; SIGINT
keeps the finished points; the HTML report rendered by headless Chromium,
its screenshot holding non-blank plots; bad input exits 2.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (SOURCE_DIR, leaked_rig_namespaces, netns_list, require,
                      rig_binary)

PROFILE = SOURCE_DIR / "hck-profiles" / "sweep-whql.ini"
PLOTS = ["segments-per-frame", "coalesced-share", "latency",
         "cpu-per-segment"]
# Metrics measured on the host (never equal in two runs): left out when
# reports are compared.
HOST_METRICS = {"qemu_cpu_ms", "qemu_cpu_per_segment_us", "duration_s"}


@pytest.fixture(scope="module")
def rig(build_dir, root, qemu_binary):
    return rig_binary(build_dir, "rig/harness/rig")


def sweep(rig, qemu, out, *args, timeout=600):
    env = dict(os.environ, RIG_QEMU=str(qemu))
    return subprocess.run([str(rig), "sweep", str(PROFILE), "--out", str(out),
                           *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout)


def load(out):
    def bad_constant(name):
        raise AssertionError(f"non-JSON constant {name}")

    return json.loads((Path(out) / "sweep.json").read_text(),
                      parse_constant=bad_constant)


def deterministic(doc):
    """The report without what a second run can not repeat."""
    doc = json.loads(json.dumps(doc))
    doc.pop("runs")
    for p in doc["points"]:
        for name in HOST_METRICS:
            p["summary"].pop(name)
            for r in p["repeats"]:
                r.pop(name)
    return doc


VIRTUAL_ARGS = ["--clock", "virtual", "--interval-us", "50,100,250,300,1000",
                "--period-us", "100,200", "--count", "60"]


@pytest.fixture(scope="module")
def virtual_sweep(rig, qemu_binary, tmp_path_factory):
    out = tmp_path_factory.mktemp("virtual")
    before = netns_list()
    r = sweep(rig, qemu_binary, out, *VIRTUAL_ARGS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not leaked_rig_namespaces(before)
    return out, r


def test_virtual_sweep_equals_oracle(virtual_sweep):
    out, r = virtual_sweep
    doc = load(out)
    assert doc["schema"] == "rsc-rig-sweep/1"
    assert doc["complete"] is True
    assert doc["shard"] is None
    # 2 periods x (RSC off + 5 intervals)
    assert doc["grid"]["points"] == 12
    assert [p["index"] for p in doc["points"]] == list(range(12))
    for p in doc["points"]:
        s = p["summary"]
        assert p["error"] is None
        assert len(p["repeats"]) == 1
        assert p["repeats"][0]["checks_failed"] == []
        for stat in ("mean", "p50", "p99"):
            assert (s[f"segments_per_frame_{stat}"]["mean"]
                    == s[f"predicted_segments_per_frame_{stat}"]["mean"]), p
        assert (s["coalesced_share"]["mean"]
                == s["predicted_coalesced_share"]["mean"])
        assert s["bytes_lost"]["mean"] == 0
        assert s["segments_sent"]["mean"] == 60
        assert s["qemu_cpu_per_segment_us"]["mean"] > 0
        if not p["rsc"]:
            assert s["segments_per_frame_mean"]["mean"] == 1
            assert p["frames_reduction_vs_rsc_off"] is None
    # A QEMU that takes qom-set of rsc_interval (the fixed build) runs each
    # group's intervals on one VM: 2 groups x (RSC off VM + RSC on VM).
    run = doc["runs"][0]
    writable = doc["qemu"]["rsc_interval_writable"]
    assert run["vm_starts"] == (4 if writable else 12), run
    assert (run["vm_reuse_saved_s"] > 0) == bool(writable)
    by = {(p["period_us"], p["interval_us"]): p["summary"]
          for p in doc["points"]}
    # QEMU's geometry: a window holds floor(interval / period) + 1 slots
    # ... drained at the timer; 300 us at 100 us: 3 segments per frame.
    assert by[(100, 300)]["segments_per_frame_p50"]["mean"] == 3
    assert by[(100, 1000)]["segments_per_frame_p50"]["mean"] == 10
    assert by[(200, 1000)]["segments_per_frame_p50"]["mean"] == 5
    assert by[(100, 50)]["coalesced_share"]["mean"] == 0
    # The recommendation: smallest interval with >= 70 % coalesced.
    rec = {x["period_us"]: x for x in doc["recommendation"]}
    assert rec[100]["hlk_interval_us"] == 250
    assert rec[200]["hlk_interval_us"] == 250
    assert "smallest rsc_interval meeting the HLK bar" in r.stdout
    rows = list(csv.DictReader((out / "sweep.csv").open(newline="")))
    assert len(rows) == 12
    assert rows[3]["interval_us"] == "250"
    assert float(rows[3]["frames_reduction_vs_rsc_off"]) > 0.5
    for name in PLOTS:
        assert (out / f"{name}.png").stat().st_size > 5000
        assert (out / f"{name}.svg").read_text().startswith("<?xml")
    assert "<img src=\"segments-per-frame.png\"" in \
        (out / "index.html").read_text()


def test_shards_merge_to_the_unsharded_report(rig, qemu_binary, tmp_path,
                                             virtual_sweep):
    full, _ = virtual_sweep
    shards = []
    for k in (1, 2):
        d = tmp_path / f"shard{k}"
        r = sweep(rig, qemu_binary, d, *VIRTUAL_ARGS, "--shard", f"{k}/2")
        assert r.returncode == 0, r.stdout + r.stderr
        doc = load(d)
        assert doc["shard"]["index"] == k
        assert doc["complete"] is True  # its share is done
        assert len(doc["points"]) == 6
        shards.append(d)
    merged = tmp_path / "merged"
    r = subprocess.run([str(rig), "sweep", "merge", "--out", str(merged),
                        *map(str, shards)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    m, u = load(merged), load(full)
    assert deterministic(m) == deterministic(u)
    assert [run["shard"] for run in m["runs"]] == ["1/2", "2/2"]

    def rows(d):
        keep = [c for c in csv.DictReader((d / "sweep.csv").open()).fieldnames
                if c.removesuffix("_ci95") not in HOST_METRICS]
        return [[row[c] for c in keep]
                for row in csv.DictReader((d / "sweep.csv").open())]
    assert rows(merged) == rows(full)
    for name in PLOTS:
        assert (merged / f"{name}.png").is_file()
    # --jobs 2: the same shards as two processes, merged by the parent.
    jobs = tmp_path / "jobs"
    r = sweep(rig, qemu_binary, jobs, *VIRTUAL_ARGS, "--jobs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert deterministic(load(jobs)) == deterministic(u)
    assert [run["shard"] for run in load(jobs)["runs"]] == ["1/2", "2/2"]
    assert (jobs / "index.html").is_file()
    assert not (jobs / "jobs" / "1" / "index.html").exists()
    # One shard alone is an incomplete grid.
    r = subprocess.run([str(rig), "sweep", "merge", "--out",
                        str(tmp_path / "half"), str(shards[0])],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "incomplete" in r.stderr
    assert load(tmp_path / "half")["complete"] is False
    # The same shard twice is refused.
    r = subprocess.run([str(rig), "sweep", "merge", "--out",
                        str(tmp_path / "twice"), str(shards[0]),
                        str(shards[0])], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert "two inputs" in r.stderr


def test_wall_clock_sweep_of_3_points(rig, qemu_binary, tmp_path):
    before = netns_list()
    r = sweep(rig, qemu_binary, tmp_path, "--clock", "wall", "--no-baseline",
              "--interval-us", "100,300,1000", "--period-us", "100",
              "--count", "1000")
    # 1: a harness check such as coalescing-window failed on a loaded host
    assert r.returncode in (0, 1), r.stdout + r.stderr
    assert not leaked_rig_namespaces(before)
    doc = load(tmp_path)
    assert doc["complete"] is True
    assert [p["interval_us"] for p in doc["points"]] == [100, 300, 1000]
    for p in doc["points"]:
        s = p["summary"]
        assert p["error"] is None
        assert p["clock"] == "wall"
        assert s["bytes_lost"]["mean"] == 0
        assert s["segments_sent"]["mean"] == 1000
        assert s["segments_per_frame_mean"]["mean"] >= 1
        assert s["latency_p50_us"]["mean"] > 0
        assert s["qemu_cpu_per_segment_us"]["mean"] > 0
        assert s["send_time_segments_per_frame_mean"]["mean"] >= 1
        # Under wall clocks the oracle predicts, the guest measures:
        # predicted = the ideal schedule, exact multiples of the period.
        assert s["predicted_segments_per_frame_p50"]["mean"] == \
            {100: 1, 300: 3, 1000: 10}[p["interval_us"]]
    # Real-time figures follow the host's load (QEMU's late timers and burst
    # reads, README "Predicted versus measured"): no ordering between the
    # points is guaranteed, but a 1000 us window (10 periods) coalesces.
    assert doc["points"][2]["summary"]["coalesced_share"]["mean"] >= 0.9
    for p in doc["points"]:
        assert not [c for c in p["repeats"][0]["checks_failed"]
                    if c in ("payload-conserved", "segments-conserved")]


def test_sigint_keeps_finished_points(rig, qemu_binary, tmp_path):
    env = dict(os.environ, RIG_QEMU=str(qemu_binary))
    before = netns_list()
    proc = subprocess.Popen([str(rig), "sweep", str(PROFILE), "--out",
                             str(tmp_path), "--clock", "virtual",
                             "--count", "100"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            path = tmp_path / "sweep.json"
            if path.is_file() and len(load(tmp_path)["points"]) >= 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail("no point finished in 120 s")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, stdout + stderr
    assert "interrupted" in stderr
    doc = load(tmp_path)
    assert doc["complete"] is False
    assert 2 <= len(doc["points"]) < doc["grid"]["points"]
    rows = list(csv.DictReader((tmp_path / "sweep.csv").open()))
    assert len(rows) == len(doc["points"])
    assert (tmp_path / "index.html").is_file()
    assert not leaked_rig_namespaces(before)


def test_bad_input_exits_2(rig, qemu_binary, tmp_path):
    for args, message in [
        (["--interval-us", "100,abc"], "--interval-us"),
        (["--clock", "sideways"], "--clock"),
        (["--shard", "3/2"], "--shard"),
    ]:
        r = sweep(rig, qemu_binary, tmp_path / "x", *args)
        assert r.returncode == 2
        assert message in r.stderr
    bad = tmp_path / "bad.ini"
    bad.write_text(PROFILE.read_text().replace("\n[sweep]\n",
                                               "\n[sweep]\nintervals = 3\n"))
    r = subprocess.run([str(rig), "sweep", str(bad), "--out",
                        str(tmp_path / "y")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "[sweep] intervals: unknown key" in r.stderr
    bad.write_text(PROFILE.read_text().replace("\n[sweep]\n",
                                               "\n[sweep]\nrepeat = 2\n"))
    r = subprocess.run([str(rig), "sweep", str(bad), "--out",
                        str(tmp_path / "y")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "given twice" in r.stderr
    r = sweep(rig, qemu_binary, "/proc/no-such-dir/out")
    assert r.returncode == 2


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_report_in_headless_chromium(virtual_sweep, tmp_path):
    from PIL import Image

    browser = chromium()
    require(browser, "chromium is not installed (ci/setup installs it)")
    out, _ = virtual_sweep
    shot = tmp_path / "report.png"
    r = subprocess.run([browser, "--headless", "--no-sandbox",
                        "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp_path / 'profile'}",
                        "--window-size=1500,2200",
                        f"--screenshot={shot}",
                        (out / "index.html").as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # Keep the screenshot where a person can look at it.
    keep = os.environ.get("RIG_SWEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    img = Image.open(shot).convert("RGB")
    w, h = img.size
    assert (w, h) == (1500, 2200)
    # The plots are drawn in matplotlib's colours (C0 blue, C1 orange,
    # pale where measured); the rest of the page is black on white.
    px = img.load()
    counts = {"coloured": 0, "blue": 0, "orange": 0, "ink": 0}
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            r_, g_, b_ = px[x, y]
            if max(r_, g_, b_) - min(r_, g_, b_) > 60:
                counts["coloured"] += 1
                if b_ > r_:
                    counts["blue"] += 1
                else:
                    counts["orange"] += 1
            if r_ + g_ + b_ < 600:
                counts["ink"] += 1
    assert counts["coloured"] > 3000, counts
    assert counts["blue"] > 100, counts
    assert counts["orange"] > 100, counts
    assert counts["ink"] > 20000, counts
    # Every plot image decodes and is not one flat colour.
    for name in PLOTS:
        plot = Image.open(out / f"{name}.png").convert("RGB")
        assert len(plot.getcolors(1 << 20) or range(1 << 20)) > 50
