"""The QEMU patch series (qemu-patches/) is well-formed and applies.

Every patch listed in qemu-patches/series must exist (and every .patch file
there must be listed), be a git format-patch file with a QEMU-style commit
message, pass QEMU's own scripts/checkpatch.pl from the pinned source tree
with neither errors nor warnings, and apply in order, without fuzz, to the
pristine Debian source.  The trees come from ci/build-qemu, which unpacks
them into the cache (no compilation).
"""

import re
import shutil
import subprocess

import pytest

from conftest import SOURCE_DIR, require

PATCH_DIR = SOURCE_DIR / "qemu-patches"
BUILD_QEMU = SOURCE_DIR / "ci" / "build-qemu"
SIGNOFF = re.compile(r"^Signed-off-by: .+ <[^<>@\s]+@[^<>@\s]+>$", re.M)


def series():
    """Patch names of qemu-patches/series, in order."""
    names = []
    for line in (PATCH_DIR / "series").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def build_qemu_tree(option):
    """A tree path printed by ci/build-qemu OPTION (fetches and unpacks)."""
    proc = subprocess.run([str(BUILD_QEMU), option], capture_output=True,
                          text=True, timeout=600)
    require(proc.returncode == 0,
            f"ci/build-qemu {option} failed ({proc.returncode}): "
            f"{proc.stderr.strip()[-500:]}")
    tree = proc.stdout.strip()
    assert tree and "\n" not in tree, f"unexpected output: {proc.stdout!r}"
    return tree


@pytest.fixture(scope="module")
def patched_source():
    return build_qemu_tree("--print-source")


@pytest.fixture(scope="module")
def pristine_source():
    return build_qemu_tree("--print-pristine")


def test_series_lists_exactly_the_patch_files():
    listed = series()
    assert len(listed) == len(set(listed)), f"duplicates in series: {listed}"
    present = sorted(p.name for p in PATCH_DIR.glob("*.patch"))
    assert sorted(listed) == present, (
        f"series lists {sorted(listed)}, qemu-patches/ holds {present}")
    assert listed, "the series is empty: the rig needs at least rsc-stats"


@pytest.mark.parametrize("name", series())
def test_patch_is_a_qemu_style_commit(name):
    text = (PATCH_DIR / name).read_text()
    head, sep, _ = text.partition("\n---\n")
    assert sep, f"{name}: no '---' separator: not a git format-patch file"
    assert re.match(r"From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\n", head), (
        f"{name}: does not start like git format-patch output")
    subject = re.search(r"^Subject: \[PATCH[^\]]*\] (.+(?:\n .+)*)$", head,
                        re.M)
    assert subject, f"{name}: no 'Subject: [PATCH] ...' header"
    subject = subject.group(1).replace("\n ", " ")
    assert re.match(r"[a-z0-9_/.-]+: [A-Z]", subject), (
        f"{name}: subject {subject!r} is not 'area/file: Capitalized summary'")
    body = head.split("\n\n", 1)[1] if "\n\n" in head else ""
    prose = [line for line in body.splitlines()
             if line.strip() and not SIGNOFF.match(line)]
    assert len(prose) >= 3, f"{name}: the body must say what and why"
    assert SIGNOFF.search(body), f"{name}: no Signed-off-by"


@pytest.mark.parametrize("name", series())
def test_checkpatch_is_clean(name, patched_source):
    checkpatch = f"{patched_source}/scripts/checkpatch.pl"
    require(shutil.which("perl"), "perl is not installed")
    proc = subprocess.run(["perl", checkpatch, str(PATCH_DIR / name)],
                          cwd=patched_source, capture_output=True, text=True,
                          timeout=300)
    report = proc.stdout + proc.stderr
    problems = [line for line in report.splitlines()
                if line.startswith(("ERROR:", "WARNING:"))]
    assert proc.returncode == 0 and not problems, (
        f"checkpatch.pl {name}:\n{report}")
    assert re.search(r"^total: 0 errors, 0 warnings, \d+ lines checked$",
                     report, re.M), f"checkpatch.pl {name}:\n{report}"


def touched_files(patch_text):
    """Paths a patch modifies (a/ side), excluding files it creates."""
    paths = set()
    for match in re.finditer(r"^--- a/(\S+)$", patch_text, re.M):
        paths.add(match.group(1))
    return paths


def test_series_applies_in_order_to_the_pristine_source(pristine_source,
                                                        tmp_path):
    """Apply, for real and without fuzz, to a copy of the files touched."""
    names = series()
    texts = {n: (PATCH_DIR / n).read_text() for n in names}
    for name in names:
        for rel in touched_files(texts[name]):
            src = f"{pristine_source}/{rel}"
            dst = tmp_path / rel
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
    for name in names:
        proc = subprocess.run(
            ["patch", "-p1", "--fuzz=0", "--batch", "--forward",
             "--no-backup-if-mismatch", "-d", str(tmp_path),
             "-i", str(PATCH_DIR / name)],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, (
            f"{name} does not apply after its predecessors:\n"
            f"{proc.stdout}{proc.stderr}")


def test_patched_tree_matches_pristine_plus_series(pristine_source,
                                                   patched_source, tmp_path):
    """The tree ci/build-qemu compiles is exactly pristine + series."""
    names = series()
    files = set()
    for name in names:
        files |= touched_files((PATCH_DIR / name).read_text())
    for rel in files:
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f"{pristine_source}/{rel}", dst)
    for name in names:
        subprocess.run(["patch", "-p1", "--fuzz=0", "--batch", "--quiet",
                        "-d", str(tmp_path), "-i", str(PATCH_DIR / name)],
                       check=True, timeout=60)
    for rel in files:
        expected = (tmp_path / rel).read_bytes()
        actual = open(f"{patched_source}/{rel}", "rb").read()
        assert actual == expected, f"{rel} differs from pristine + series"
