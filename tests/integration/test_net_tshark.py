"""rig/net frames checked by a real dissector (tshark).

rig-frame builds every case of the frame catalogue into a pcap and
describes, from each case's description alone, the fields it must decode
to.  tshark (told to validate IPv4/TCP/UDP checksums) must then:
  - raise no fault at all on the clean cases (no malformed packet, no bad
    checksum, no warning or error outside TCP sequence commentary);
  - raise exactly the expected expert info, and nothing else, on the cases
    that damage a frame on purpose;
  - decode every described field to the described value.
"""

import json
import subprocess

import pytest

from conftest import have_tool, require, rig_binary

TSHARK_PREFS = [
    "-o", "ip.check_checksum:TRUE",
    "-o", "tcp.check_checksum:TRUE",
    "-o", "udp.check_checksum:TRUE",
    # Cross-frame commentary (retransmission, out-of-order) is about the
    # catalogue reusing one flow, not about any single frame.
    "-o", "tcp.analyze_sequence_numbers:FALSE",
    "-o", "tcp.relative_sequence_numbers:FALSE",
]

# epan/proto.h severities and groups, as tshark prints them numerically.
PI_WARN = 0x00600000
PI_SEQUENCE = 0x02000000
PCAP_EPOCH = "1704067200"


@pytest.fixture(scope="module")
def rig_frame(build_dir):
    return rig_binary(build_dir, "rig/net/rig-frame")


@pytest.fixture(scope="module")
def tshark():
    require(have_tool("tshark"), "tshark not installed (ci/setup installs it)")
    return "tshark"


@pytest.fixture(scope="module")
def catalogue(rig_frame):
    out = subprocess.run([str(rig_frame), "--describe"], check=True,
                         capture_output=True, text=True).stdout
    cases = json.loads(out)
    assert len(cases) >= 40, "catalogue unexpectedly small"
    return cases


@pytest.fixture(scope="module")
def pcap(rig_frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "cases.pcap"
    subprocess.run([str(rig_frame), "--pcap", str(path)], check=True)
    return path


def run_tshark(tshark, pcap, fields, display_filter=None):
    """Returns one list of strings (one per field) per frame."""
    cmd = [tshark, "-n", "-r", str(pcap), *TSHARK_PREFS, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, f"tshark failed: {res.stderr}"
    return [line.split("\t") for line in res.stdout.splitlines()]


def frames_matching(tshark, pcap, display_filter):
    rows = run_tshark(tshark, pcap, ["frame.number"], display_filter)
    return {int(r[0]) for r in rows}


def faults_per_frame(tshark, pcap):
    """frame number -> list of (severity, group) of faults tshark raised."""
    rows = run_tshark(tshark, pcap, ["frame.number", "_ws.expert.severity",
                                     "_ws.expert.group", "_ws.malformed"])
    faults = {}
    for number, sev, grp, malformed in rows:
        found = []
        if sev:
            for s, g in zip(sev.split(","), grp.split(",")):
                if int(s) >= PI_WARN and int(g) != PI_SEQUENCE:
                    found.append((int(s), int(g)))
        if malformed and not found:
            found.append(("malformed", 0))
        faults[int(number)] = found
    return faults


def test_rig_frame_cli(rig_frame, tmp_path):
    helped = subprocess.run([str(rig_frame), "--help"], capture_output=True,
                            text=True)
    assert helped.returncode == 0 and "--pcap" in helped.stdout
    nothing = subprocess.run([str(rig_frame)], capture_output=True,
                             text=True)
    assert nothing.returncode == 2 and "nothing to do" in nothing.stderr
    unknown = subprocess.run([str(rig_frame), "--list", "--cases", "nope"],
                             capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown case 'nope'" in unknown.stderr
    unwritable = subprocess.run(
        [str(rig_frame), "--pcap", str(tmp_path / "missing" / "x.pcap")],
        capture_output=True, text=True)
    assert unwritable.returncode == 1 and "cannot create" in unwritable.stderr
    raw = tmp_path / "raw"
    subprocess.run([str(rig_frame), "--raw-dir", str(raw), "--cases",
                    "tcp4-data,udp6"], check=True)
    assert sorted(p.name for p in raw.iterdir()) == ["tcp4-data.bin",
                                                     "udp6.bin"]
    assert (raw / "tcp4-data.bin").stat().st_size == 14 + 20 + 20 + 1000


def test_pcap_has_nanosecond_timestamps(tshark, pcap, catalogue):
    rows = run_tshark(tshark, pcap, ["frame.time_epoch"])
    assert len(rows) == len(catalogue)
    assert rows[0][0] == f"{PCAP_EPOCH}.000000000"
    assert rows[1][0] == f"{PCAP_EPOCH}.000001000"
    magic = pcap.read_bytes()[:4]
    assert magic == bytes.fromhex("4d3cb2a1"), "not a nanosecond pcap"


def test_clean_cases_raise_no_fault(tshark, pcap, catalogue):
    faults = faults_per_frame(tshark, pcap)
    bad = [f"{c['name']}: {faults[c['index'] + 1]}" for c in catalogue
           if not c["expect_expert"] and faults[c["index"] + 1]]
    assert not bad, "tshark found faults in clean frames:\n" + "\n".join(bad)


def test_damaged_cases_raise_exactly_the_expected_fault(tshark, pcap,
                                                        catalogue):
    faults = faults_per_frame(tshark, pcap)
    damaged = [c for c in catalogue if c["expect_expert"]]
    assert len(damaged) >= 9
    problems = []
    for case in damaged:
        frame = case["index"] + 1
        experts = case["expect_expert"].split(",")
        for expert in experts:
            hit = frames_matching(tshark, pcap, expert)
            if frame not in hit:
                problems.append(f"{case['name']}: tshark did not raise "
                                f"{expert}")
        if len(faults[frame]) != len(experts):
            problems.append(f"{case['name']}: expected only {experts}, "
                            f"tshark raised {faults[frame]}")
    assert not problems, "\n".join(problems)


def normalize(value):
    """tshark prints ints in decimal or hex, booleans as 1/0 or True/False,
    bytes with or without colons: compare them as Python values."""
    out = []
    for item in str(value).split(","):
        item = item.strip().lower()
        if item in ("true", "false"):
            out.append(int(item == "true"))
            continue
        try:
            out.append(int(item, 0))
        except ValueError:
            out.append(item.replace(":", "") if len(item) > 17 else item)
    return out


def test_decoded_fields_match_description(tshark, pcap, catalogue):
    names = sorted({f for c in catalogue for f in c["fields"]})
    rows = run_tshark(tshark, pcap, names)
    assert len(rows) == len(catalogue)
    problems = []
    checked = 0
    for case in catalogue:
        row = dict(zip(names, rows[case["index"]]))
        for field, want in case["fields"].items():
            got = row.get(field, "")
            checked += 1
            if normalize(got) != normalize(want):
                shown = got if len(got) < 80 else got[:80] + "..."
                problems.append(f"{case['name']}: {field} = {shown!r}, "
                                f"described {str(want)[:80]!r}")
    assert checked > 600
    assert not problems, "\n".join(problems)
