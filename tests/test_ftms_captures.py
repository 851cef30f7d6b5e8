"""Every real frame in tests/fixtures/ftms_captures.jsonl decodes to its ``expected`` values.

The fixture is a copy of the project's shared/ftms/captures.jsonl (REFERENCE.md §3): one frame
per line, each with its ``source`` (repository, path and commit, or issue), the ``model``, and
``expected`` values printed or asserted by that source or derived from the spec. The expected
keys use the source's own vocabulary; ``CHECKS`` maps each one onto the codec's canonical names,
and an unmapped key fails the test, so a new capture cannot pass by being ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from treadwalk.ftms import (
    MACHINE_FEATURE_NAMES,
    TARGET_FEATURE_NAMES,
    ControlRequest,
    ControlResponse,
    Features,
    MachineStatus,
    SpeedRange,
    StopControl,
    TrainingStatus,
    TreadmillData,
    decode,
    encode_treadmill_data,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CAPTURES: list[dict[str, Any]] = [
    json.loads(line) for line in (FIXTURES / "ftms_captures.jsonl").read_text().splitlines() if line.strip()
]


def _id(c: dict[str, Any]) -> str:
    return f"{c['char']}-{c['hex'][:24]}-{c['model'][:12]}-{c['seq']}"


def label(text: str) -> str:
    """A spec label as the codec names it: 'Stopped or Paused by the User' -> stopped_or_paused_by_user."""
    text = re.sub(r"\(.*?\)", "", text.lower()).replace("fitness machine ", "").replace(" the ", " ")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def hexint(text: str) -> int:
    return int(text.split()[0], 16)


def _capture_2acd(c: dict[str, Any], d: Any, data: bytes) -> None:
    assert isinstance(d, TreadmillData)
    aliases = {"ramp_deg": "ramp_angle_deg", "elev_gain_pos_m": "elevation_gain_m"}
    aliases |= {"elev_gain_neg_m": "elevation_loss_m", "steps_vendor_bit13": "steps"}
    for key, want in c["expected"].items():
        if key == "flags":
            assert int.from_bytes(data[:2], "little") == hexint(want)
        elif key == "rfu_flags_reported":  # nRF Connect names bit 13 RFU: we read it as steps
            assert hexint(want) == 0x2000
            assert d.steps is not None
        elif key in ("energy_per_hour_raw", "energy_per_min_raw"):  # N/A sentinels -> None
            assert hexint(want) in (0xFFFF, 0xFF)
            assert getattr(d, key.replace("_raw", "_kcal")) is None
        else:
            name = aliases.get(key, key)
            assert name in TreadmillData.__dataclass_fields__, f"unmapped expected key {key}"
            assert getattr(d, name) == want, name
    # Matrix (P3): flags promise more than the 20 bytes that arrive; everything else is whole.
    assert d.truncated == ("NON-CONFORMANT" in c["note"])
    if not d.truncated:  # and the encoder writes exactly what the real machine wrote
        assert encode_treadmill_data(d) == data


def _capture_2acc(c: dict[str, Any], d: Any, data: bytes) -> None:
    assert isinstance(d, Features)
    e = c["expected"]
    if "nrf_connect_decode" in e:
        features, targets = e["nrf_connect_decode"].split("; targets: ")
        assert d.features == [label(x) for x in features.split(", ")]
        assert d.targets == [label(x) + "_target" for x in targets.split(", ")]
        return
    assert d.machine == hexint(e["machine_features"])
    assert d.target == hexint(e["target_settings"])
    for listed, names, table in (
        (e["features"], d.features, MACHINE_FEATURE_NAMES),
        (e["targets"], d.targets, TARGET_FEATURE_NAMES),
    ):
        bits = [int(re.search(r"\((\d+)\)", x).group(1)) for x in listed]  # type: ignore[union-attr]
        assert names == [table[b] for b in bits] == [label(x) for x in listed]


def _capture_2ad3(c: dict[str, Any], d: Any, data: bytes) -> None:
    assert isinstance(d, TrainingStatus)
    e = c["expected"]
    if "nrf_connect_decode" in e:
        m = re.fullmatch(r"Status: (.+); Details: \(empty\)", e["nrf_connect_decode"])
        assert m is not None
        assert d.status_name == label(m.group(1))
        assert d.string == ""
        return
    assert data[0] == hexint(e["flags"])
    assert (d.string is not None) == e["string_present"]
    assert d.status == hexint(e["status"])
    assert d.status_name == label(e["status"].split(" ", 1)[1])
    assert d.string == e["string"]


def _capture_2ad4(c: dict[str, Any], d: Any, data: bytes) -> None:
    assert isinstance(d, SpeedRange)
    e = c["expected"]
    assert (d.min_kmh, d.max_kmh, d.step_kmh) == (e["min_kmh"], e["max_kmh"], e["increment_kmh"])


def _capture_2ad9(c: dict[str, Any], d: Any, data: bytes) -> None:
    e = c["expected"]
    if "response_code" in e:
        assert isinstance(d, ControlResponse)
        assert data[0] == hexint(e["response_code"]) == 0x80
        assert d.request_op == hexint(e["request_opcode"])
        assert d.result == hexint(e["result"])
        assert d.result_name == label(e["result"].split(" ", 1)[1])
        return
    assert isinstance(d, ControlRequest)
    assert d.op == hexint(e["opcode"])
    assert d.name == label(e["name"])
    params = {k: v for k, v in e.items() if k not in ("opcode", "name")}
    if "control_information" in params:
        params["control"] = StopControl[params.pop("control_information").upper()]
    assert d.params == params


def _capture_2ada(c: dict[str, Any], d: Any, data: bytes) -> None:
    assert isinstance(d, MachineStatus)
    e = dict(c["expected"])
    if "nrf_connect_decode" in e:
        text = e.pop("nrf_connect_decode")
        if m := re.fullmatch(r"Target Speed Changed; New Target Value: ([\d.]+) km/h", text):
            e |= {"opcode": "0x05", "name": "Target Speed Changed", "new_target_speed_kmh": float(m.group(1))}
        elif m := re.fullmatch(
            r"(Fitness Machine Stopped or Paused by the User); Control Information: (\w+)", text
        ):
            e |= {"opcode": "0x02", "name": m.group(1), "control_information": m.group(2).lower()}
        elif m := re.fullmatch(
            r"(Fitness Machine Started or Resumed by the User); Unknown parameters: .*", text
        ):
            e |= {"opcode": "0x04", "name": m.group(1)}  # the padding (P8) is ignored, not a parameter
        else:
            pytest.fail(f"no rule for the nRF Connect text {text!r}")
    assert d.op == hexint(e.pop("opcode"))
    assert d.name == label(e.pop("name"))
    params = {}
    if "new_target_speed_kmh" in e:
        params["target_speed_kmh"] = e.pop("new_target_speed_kmh")
    if "control_information" in e:
        params["control"] = StopControl[e.pop("control_information").upper()]
    assert not e, f"unmapped expected keys {sorted(e)}"
    assert d.params == params


CHECKS: dict[str, Callable[[dict[str, Any], Any, bytes], None]] = {
    "2acd": _capture_2acd,
    "2acc": _capture_2acc,
    "2ad3": _capture_2ad3,
    "2ad4": _capture_2ad4,
    "2ad9": _capture_2ad9,
    "2ada": _capture_2ada,
}


def test_the_fixture_holds_every_capture_with_its_source() -> None:
    assert len(CAPTURES) == 92
    assert all(c["source"] and c["model"] and c["hex"] is not None for c in CAPTURES)
    assert {c["char"] for c in CAPTURES} <= set(CHECKS)


@pytest.mark.parametrize("capture", CAPTURES, ids=_id)
def test_capture_decodes_to_its_expected_values(capture: dict[str, Any]) -> None:
    data = bytes.fromhex(capture["hex"])
    decoded = decode(capture["char"], data)
    CHECKS[capture["char"]](capture, decoded, data)
    json.dumps(decoded.to_dict())  # the --json output of every capture is plain JSON
