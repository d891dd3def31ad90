"""Shared fixtures for the rig's integration tests.

The tests drive real components: the rig's own binaries from the meson build
directory, the patched QEMU built by ci/build-qemu, network namespaces and
taps.  When a prerequisite is missing a test is skipped with the reason;
under ci/test (RIG_REQUIRE_ALL=1) a missing prerequisite is a failure
instead, so that CI can never pass by skipping.
"""

import contextlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

BUILD_DIR = Path(os.environ.get("RIG_BUILD_DIR", "build")).resolve()
SOURCE_DIR = Path(
    os.environ.get("RIG_SOURCE_DIR", Path(__file__).resolve().parents[2])
)
REQUIRE_ALL = os.environ.get("RIG_REQUIRE_ALL") == "1"


def require(condition, reason):
    """Skip (or fail under ci/test) when a prerequisite is missing."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"prerequisite missing under ci/test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def build_dir():
    require(BUILD_DIR.is_dir(), f"no build directory at {BUILD_DIR}")
    return BUILD_DIR


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def root():
    require(os.geteuid() == 0, "needs root (network namespaces, taps)")


@pytest.fixture(scope="session")
def qemu_binary():
    path = os.environ.get("RIG_QEMU", "")
    require(path and os.access(path, os.X_OK),
            "no patched QEMU: run ci/build-qemu (RIG_QEMU is unset)")
    return Path(path)


@pytest.fixture(scope="session")
def qemu_builds():
    """Both QEMU builds, for a test that proves a fix: stock must show the
    deviation, fixed must not."""
    fixed = os.environ.get("RIG_QEMU", "")
    stock = os.environ.get("RIG_QEMU_STOCK", "")
    require(fixed and os.access(fixed, os.X_OK),
            "no fixed QEMU: run ci/build-qemu (RIG_QEMU is unset)")
    require(stock and os.access(stock, os.X_OK),
            "no stock QEMU: run ci/build-qemu --stock, then ci/build")
    return {"fixed": fixed, "stock": stock}


def rig_binary(build_dir, relpath):
    path = build_dir / relpath
    require(path.is_file(), f"{relpath} not built in {build_dir}")
    return path


def netns_list():
    out = subprocess.run(["ip", "netns", "list"], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def leaked_rig_namespaces(before):
    """Namespaces `rig-<pid>-<n>` created since @before whose rig process is
    gone: what a run left behind.  A rig still running (another test run on
    the same machine) is not counted."""
    leaked = set()
    for name in netns_list() - before:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "rig" and parts[1].isdigit():
            if not os.path.exists(f"/proc/{parts[1]}"):
                leaked.add(name)
    return leaked


def unique_name(prefix):
    """A short name unique to this test run (interface names: 15 chars)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def netns(name=None):
    """A private network namespace, deleted on every exit path."""
    name = name or unique_name("rigt")
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"],
                       check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "pids", name], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], check=False)


def have_tool(name):
    return shutil.which(name) is not None
