"""ci/setup derives its extra apt sources (deb-src for bookworm, trixie,
forky and sid; bookworm-backports) from the machine's own Debian entries,
in either format, and names no mirror of its own."""

import subprocess

from conftest import SOURCE_DIR

SETUP = SOURCE_DIR / "ci" / "setup"
MIRROR = "http://mirror.test.invalid/debian"


def derive(tmp_path, files):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (etc / name).write_text(text)
    return subprocess.run([str(SETUP), "--print-sources"],
                          env={"RIG_APT_ETC": str(etc), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)


def test_deb822_entry(tmp_path):
    r = derive(tmp_path, {"sources.list.d/debian.sources": (
        "Types: deb\n"
        f"URIs: {MIRROR}\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/test.gpg\n")})
    assert r.returncode == 0, r.stderr
    assert "Types: deb-src\n" in r.stdout
    assert "Suites: bookworm trixie forky sid\n" in r.stdout
    assert "Suites: bookworm-backports\n" in r.stdout
    assert r.stdout.count(f"URIs: {MIRROR}\n") == 2
    assert r.stdout.count("Signed-By: /usr/share/keyrings/test.gpg\n") == 2


def test_one_line_entry(tmp_path):
    r = derive(tmp_path, {"sources.list": f"deb {MIRROR} bookworm main\n"})
    assert r.returncode == 0, r.stderr
    assert f"URIs: {MIRROR}\n" in r.stdout
    assert "Suites: bookworm trixie forky sid\n" in r.stdout
    assert "debian-archive-keyring.gpg" in r.stdout


def test_no_debian_entry(tmp_path):
    r = derive(tmp_path, {"sources.list.d/other.sources": (
        "Types: deb\nURIs: https://example.invalid/apt\nSuites: nodistro\n"
        "Components: main\n")})
    assert r.returncode == 2
    assert "no Debian bookworm entry" in r.stderr
    assert r.stdout == ""
