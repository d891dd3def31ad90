"""The per-build expectations stay in step with the patch series.

Every `fixed_by` of a shipped profile names a patch of
qemu-patches/<base>/series (by file name or number), and every patch of
class `fix` is known to the oracle's table (rig/rsc/fixes.c), so that spec
mode models a fixed build patch by patch.  No QEMU needed.
"""

import configparser
import re

from conftest import SOURCE_DIR

PATCHES = SOURCE_DIR / "qemu-patches"
PROFILES = SOURCE_DIR / "hck-profiles"
CERTIFICATION = ["conformance.ini", "whql-rsc.ini", "starvation.ini"]


def series():
    """{base: [(class, file)]} of every qemu-patches/<base>/series."""
    out = {}
    for f in sorted(PATCHES.glob("*/series")):
        rows = []
        for line in f.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                cls, name = line.split()
                assert (f.parent / name).is_file(), f"{f} lists {name}"
                rows.append((cls, name))
        out[f.parent.name] = rows
    assert out, "no qemu-patches/*/series"
    return out


def profile(path):
    cp = configparser.ConfigParser(interpolation=None, strict=True,
                                   delimiters=("=",),
                                   comment_prefixes=("#",))
    cp.optionxform = str
    cp.read(path)
    return cp


def fix_words():
    text = (SOURCE_DIR / "rig/rsc/fixes.c").read_text()
    words = re.findall(r'\{"([^"]+)", (?:RSC_FIX_[A-Z_]+|0)\}', text)
    assert words
    return [w.lower() for w in words]


def test_fixed_by_names_a_patch_of_the_series():
    names = [n for rows in series().values() for _, n in rows]
    for path in sorted(PROFILES.glob("*.ini")):
        cp = profile(path)
        for group in cp.sections():
            if "fixed_by" not in cp[group]:
                continue
            for entry in cp[group]["fixed_by"].split(";"):
                entry = entry.strip()
                hits = [n for n in names if n.startswith(entry)]
                assert hits, f"{path.name} [{group}] fixed_by {entry}: " \
                             f"no such patch in qemu-patches/*/series"


def test_every_fix_patch_is_known_to_the_oracle():
    words = fix_words()
    for base, rows in series().items():
        for cls, name in rows:
            if cls != "fix":
                continue
            assert any(w in name.lower() for w in words), \
                f"{base}/{name}: add it to rig/rsc/fixes.c (which RscFix " \
                f"rules it carries)"


def test_certification_profiles_expect_per_build():
    """Certification profiles: spec mode must pass on fixed; a deviation of
    stock is listed with its patch, never as a build-independent known
    failure once the series has the patch."""
    fixes = [n for rows in series().values() for c, n in rows if c == "fix"]
    for name in CERTIFICATION:
        cp = profile(PROFILES / name)
        for group in cp.sections():
            sec = cp[group]
            if "stock_known_failures" in sec:
                assert sec.get("stock_failure_reason"), (name, group)
                assert sec.get("fixed_by"), (name, group)
            if fixes and group == "profile":
                assert sec.get("spec_must_pass") == "true", name
