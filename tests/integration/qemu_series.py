"""The QEMU patch series as ci/build-qemu reads it (qemu-patches/BASE/).

One place for the tests that check the series and the builds made from it:
the base directory, the "CLASS PATCH" entries of its series file, and the
trees and binaries ci/build-qemu prints.
"""

import subprocess

from conftest import SOURCE_DIR, require

BUILD_QEMU = SOURCE_DIR / "ci" / "build-qemu"
PATCHES_ROOT = SOURCE_DIR / "qemu-patches"
# The base ci/build-qemu builds without --base.
BASE = "10.0"
PATCH_DIR = PATCHES_ROOT / BASE
CLASSES = ("observability", "fix")


def entries():
    """(class, patch name) of every series entry, in order."""
    proc = subprocess.run([str(BUILD_QEMU), "--print-series"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"ci/build-qemu --print-series: {proc.stderr}"
    result = []
    for line in proc.stdout.splitlines():
        cls, name = line.split()
        assert cls in CLASSES, line
        result.append((cls, name))
    return result


def series(build="fixed"):
    """Patch names the build applies, in order."""
    return [name for cls, name in entries()
            if build == "fixed" or cls == "observability"]


def build_qemu(*args, timeout=3600):
    """One line printed by ci/build-qemu ARGS (a path); skips when it fails
    for a missing prerequisite (exit 2), fails on a build error."""
    proc = subprocess.run([str(BUILD_QEMU), *args], capture_output=True,
                          text=True, timeout=timeout)
    require(proc.returncode != 2,
            f"ci/build-qemu {' '.join(args)}: {proc.stderr.strip()[-500:]}")
    assert proc.returncode == 0, (
        f"ci/build-qemu {' '.join(args)} failed ({proc.returncode}): "
        f"{proc.stderr.strip()[-2000:]}")
    out = proc.stdout
    assert out.endswith("\n") and out.count("\n") == 1, (
        f"ci/build-qemu {' '.join(args)} printed {out!r}")
    return out.strip()
