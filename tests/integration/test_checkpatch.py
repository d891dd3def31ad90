"""The QEMU patch series (qemu-patches/BASE/) is well-formed and bisectable.

Every patch listed in the series must exist (and every .patch file there
must be listed), be classed observability or fix with the observability
patches first, be a git format-patch file with a QEMU-style commit message
(a fix also names the rule it follows), pass QEMU's own
scripts/checkpatch.pl from the pinned source tree with neither errors nor
warnings, apply in order, without fuzz, to the pristine Debian source, and
leave a tree that compiles after each patch (ci/build-qemu --check-series).
The trees come from ci/build-qemu, which unpacks them into the cache.
"""

import re
import shutil
import subprocess

import pytest

from conftest import require
from qemu_series import BUILD_QEMU, PATCH_DIR, build_qemu, entries, series

SIGNOFF = re.compile(r"^Signed-off-by: .+ <[^<>@\s]+@[^<>@\s]+>$", re.M)
# A fix says which rule it follows: the virtio spec or Microsoft's RSC pages.
RULE_SOURCE = re.compile(r"virtio (?:1\.\d|spec)|Microsoft|windows-driver-docs")


@pytest.fixture(scope="module")
def patched_source():
    return build_qemu("--print-source", timeout=600)


@pytest.fixture(scope="module")
def stock_source():
    return build_qemu("--stock", "--print-source", timeout=600)


@pytest.fixture(scope="module")
def pristine_source():
    return build_qemu("--print-pristine", timeout=600)


def test_series_lists_exactly_the_patch_files():
    listed = series()
    assert len(listed) == len(set(listed)), f"duplicates in series: {listed}"
    present = sorted(p.name for p in PATCH_DIR.glob("*.patch"))
    assert sorted(listed) == present, (
        f"series lists {sorted(listed)}, {PATCH_DIR} holds {present}")
    assert listed, "the series is empty: the rig needs at least rsc-stats"


def test_observability_patches_come_first():
    classes = [cls for cls, _ in entries()]
    assert classes[0] == "observability", classes
    first_fix = classes.index("fix") if "fix" in classes else len(classes)
    assert all(c == "fix" for c in classes[first_fix:]), (
        f"an observability patch after a fix: {entries()}")
    assert series("stock") == series()[:first_fix]


def test_series_is_numbered_in_order():
    numbers = [int(name.split("-", 1)[0]) for name in series()]
    assert numbers == list(range(1, len(numbers) + 1)), series()


def test_a_malformed_series_is_refused(tmp_path):
    """ci/build-qemu names the bad entry instead of building something."""
    base = tmp_path / "qemu-patches" / "9.9"
    base.mkdir(parents=True)
    (base / "series").write_text("fix 0001-a.patch\nobservability 0002-b.patch\n")
    ci = tmp_path / "ci"
    ci.mkdir()
    for name in ("build-qemu", "lib.sh", "qemu-base.sh"):
        (ci / name).write_bytes((BUILD_QEMU.parent / name).read_bytes())
    (ci / "build-qemu").chmod(0o755)
    proc = subprocess.run([str(ci / "build-qemu"), "--base", "9.9",
                           "--print-series"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc
    assert "observability patch 0002-b.patch after a fix" in proc.stderr
    (base / "series").write_text("stock 0001-a.patch\n")
    proc = subprocess.run([str(ci / "build-qemu"), "--base", "9.9",
                           "--print-series"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "class 'stock'" in proc.stderr, proc
    proc = subprocess.run([str(ci / "build-qemu"), "--base", "0.1",
                           "--print-binary"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "available: 9.9" in proc.stderr, proc


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
    assert subject.startswith("hw/net/virtio-net: "), subject
    if dict((n, c) for c, n in entries())[name] == "fix":
        assert RULE_SOURCE.search(body), (
            f"{name}: a fix names the rule it follows (virtio spec or "
            f"Microsoft's RSC rules)")
        assert "rig" in body, f"{name}: say which rig scenario shows it"


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


def test_stock_tree_is_pristine_plus_observability_patches(pristine_source,
                                                           stock_source,
                                                           tmp_path):
    names = series("stock")
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
        assert (open(f"{stock_source}/{rel}", "rb").read()
                == (tmp_path / rel).read_bytes()), (
            f"{rel} of the stock tree differs from pristine + observability")


def test_every_prefix_of_the_series_compiles():
    """Bisectable: after each patch alone the tree compiles (the objects
    each prefix changes, with ccache; ci/build-qemu --check-series)."""
    proc = subprocess.run([str(BUILD_QEMU), "--check-series"],
                          capture_output=True, text=True, timeout=1800)
    require(proc.returncode != 2, proc.stderr.strip()[-500:])
    assert proc.returncode == 0, proc.stderr[-3000:]
    total = len(series())
    for n in range(1, total + 1):
        assert f"prefix {n}/{total} " in proc.stderr, proc.stderr
    assert f"every prefix of the series (1..{total}) compiles" in proc.stderr
