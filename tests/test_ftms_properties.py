"""FTMS codec properties (hypothesis): round-trips within half a resolution step, split and
reassembly, and "any bytes decode or raise DecodeError, never anything else"."""

from __future__ import annotations

import json

from ftms_strategies import RANGES, records
from hypothesis import given, settings
from hypothesis import strategies as st

from treadwalk.core.errors import DecodeError
from treadwalk.ftms import (
    CHARACTERISTICS,
    MACHINE_FEATURE_NAMES,
    MACHINE_TYPE_NAMES,
    TARGET_FEATURE_NAMES,
    Features,
    InclineRange,
    SpeedRange,
    TreadmillData,
    TreadmillDataAssembler,
    decode,
    decode_advertisement,
    decode_control_request,
    decode_features,
    decode_incline_range,
    decode_machine_status,
    decode_speed_range,
    decode_training_status,
    decode_treadmill_data,
    encode_advertisement,
    encode_features,
    encode_incline_range,
    encode_machine_status,
    encode_speed_range,
    encode_training_status,
    encode_treadmill_data,
    set_target_incline,
    set_target_speed,
    set_targeted_distance,
    split_treadmill_record,
)
from treadwalk.ftms.control import StatusOp


@given(records(on_grid=False))
def test_treadmill_data_round_trips_within_half_a_resolution_step(d: TreadmillData) -> None:
    back = decode_treadmill_data(encode_treadmill_data(d))
    assert back.more_data == (d.speed_kmh is None)
    assert back.truncated is False
    for name, (_, _, res) in RANGES.items():
        sent, got = getattr(d, name), getattr(back, name)
        if sent is None:
            assert got is None, name
        else:
            assert got is not None, name
            assert abs(got - sent) <= res / 2 + 1e-9, name


@given(records(on_grid=True))
def test_treadmill_data_on_the_wire_grid_round_trips_exactly(d: TreadmillData) -> None:
    data = encode_treadmill_data(d)
    assert decode_treadmill_data(data) == d
    assert encode_treadmill_data(decode_treadmill_data(data)) == data


@given(records(on_grid=True, require_speed=True), st.integers(7, 40))
def test_split_then_reassemble_gives_the_record_back(d: TreadmillData, max_payload: int) -> None:
    frames = split_treadmill_record(d, max_payload=max_payload)
    assert all(len(f) <= max_payload for f in frames)
    assert [bool(f[0] & 1) for f in frames] == [True] * (len(frames) - 1) + [False]
    assembler = TreadmillDataAssembler()
    out = [assembler.feed(f) for f in frames]
    assert out[:-1] == [None] * (len(frames) - 1)  # no partial frame is ever a record
    assert out[-1] == d


@given(records(on_grid=True, require_speed=True), records(on_grid=True, require_speed=True))
def test_records_split_at_mtu_23_reassemble_one_after_another(a: TreadmillData, b: TreadmillData) -> None:
    assembler = TreadmillDataAssembler()
    results = [r for f in split_treadmill_record(a) + split_treadmill_record(b) if (r := assembler.feed(f))]
    assert results == [a, b]
    assert assembler.discarded == 0


@settings(max_examples=300)
@given(
    st.sampled_from([*CHARACTERISTICS, "0x2ACD", "00002ada-0000-1000-8000-00805f9b34fb"]),
    st.binary(max_size=40),
)
def test_any_bytes_decode_or_raise_decode_error(char: str, data: bytes) -> None:
    error: DecodeError | None = None
    try:
        decoded = decode(char, data)
    except DecodeError as exc:  # the only exception allowed out
        error = exc
    if error is None:
        json.dumps(decoded.to_dict())
    else:
        assert error.data == data
        assert error.reason


@given(st.binary(min_size=2, max_size=40))
def test_any_treadmill_frame_with_flags_decodes(data: bytes) -> None:
    d = decode_treadmill_data(data)
    assert d.more_data == bool(data[0] & 1)
    assert (d.speed_kmh is None) or not d.more_data


@given(st.floats(0, 655.35))
def test_target_speed_round_trips_within_half_a_step(kmh: float) -> None:
    got = decode_control_request(set_target_speed(kmh)).params["target_speed_kmh"]
    assert abs(got - kmh) <= 0.005 + 1e-9


@given(st.floats(-3276.8, 3276.7))
def test_target_incline_round_trips_within_half_a_step(pct: float) -> None:
    got = decode_control_request(set_target_incline(pct)).params["target_incline_pct"]
    assert abs(got - pct) <= 0.05 + 1e-9


@given(st.integers(0, 0xFFFFFF))
def test_targeted_distance_round_trips(m: int) -> None:
    assert decode_control_request(set_targeted_distance(m)).params == {"targeted_distance_m": m}


@given(st.integers(0, 65535).map(lambda n: n / 100), st.integers(-32768, 32767).map(lambda n: n / 10))
def test_status_targets_round_trip(kmh: float, pct: float) -> None:
    speed = decode_machine_status(encode_machine_status(StatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=kmh))
    incline = decode_machine_status(
        encode_machine_status(StatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=pct)
    )
    assert speed.params == {"target_speed_kmh": kmh}
    assert incline.params == {"target_incline_pct": pct}


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))
def test_features_round_trip(machine: int, target: int) -> None:
    f = Features(machine, target)
    assert decode_features(encode_features(f)) == f
    assert Features.from_names(f.features, f.targets) == f


@given(st.sets(st.sampled_from(MACHINE_FEATURE_NAMES)), st.sets(st.sampled_from(TARGET_FEATURE_NAMES)))
def test_feature_names_round_trip(features: set[str], targets: set[str]) -> None:
    f = decode_features(encode_features(Features.from_names(features, targets)))
    assert set(f.features) == features
    assert set(f.targets) == targets
    assert all(f.supports(n) for n in features | targets)


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_speed_range_round_trips(a: int, b: int, step: int) -> None:
    r = SpeedRange(min(a, b) / 100, max(a, b) / 100, step / 100)
    assert decode_speed_range(encode_speed_range(r)) == r


@given(st.integers(-0x8000, 0x7FFF), st.integers(-0x8000, 0x7FFF), st.integers(0, 0xFFFF))
def test_incline_range_round_trips(a: int, b: int, step: int) -> None:
    r = InclineRange(min(a, b) / 10, max(a, b) / 10, step / 10)
    assert decode_incline_range(encode_incline_range(r)) == r


@given(st.integers(0, 0xFF), st.none() | st.text().filter(lambda s: not s.endswith("\x00")))
def test_training_status_round_trips(status: int, string: str | None) -> None:
    s = decode_training_status(encode_training_status(status, string))
    assert (s.status, s.string) == (status, string)


@given(st.booleans(), st.sets(st.sampled_from(MACHINE_TYPE_NAMES), min_size=1))
def test_advertisement_round_trips(available: bool, types: set[str]) -> None:
    a = decode_advertisement(encode_advertisement(available, sorted(types)))
    assert a.available is available
    assert set(a.machine_types) == types
