"""FTMS codec: spec vectors (REFERENCE.md part 1) and the real-world tolerances of part 2."""

from __future__ import annotations

import pytest

from treadwalk.core.errors import DecodeError
from treadwalk.ftms import (
    CONTROL_POINT_UUID,
    FTMS_SERVICE_UUID,
    TREADMILL_DATA_UUID,
    ControlRequest,
    ControlResponse,
    Features,
    InclineRange,
    OpCode,
    ResultCode,
    SpeedRange,
    StatusOp,
    TrainingStatusCode,
    TreadmillData,
    TreadmillDataAssembler,
    decode,
    decode_advertisement,
    decode_control_request,
    decode_control_response,
    decode_features,
    decode_incline_range,
    decode_machine_status,
    decode_speed_range,
    decode_training_status,
    decode_treadmill_data,
    encode_advertisement,
    encode_control_request,
    encode_control_response,
    encode_features,
    encode_incline_range,
    encode_machine_status,
    encode_speed_range,
    encode_training_status,
    encode_treadmill_data,
    pause,
    request_control,
    reset,
    set_target_heart_rate,
    set_target_incline,
    set_target_speed,
    set_targeted_distance,
    set_targeted_energy,
    set_targeted_steps,
    set_targeted_time,
    split_treadmill_record,
    start_or_resume,
    stop,
)

H = bytes.fromhex

# Every field at once: the spec's 34-byte record (flags 0x1FFE) plus the vendor steps (bit 13).
FULL = TreadmillData(
    speed_kmh=4.1,
    avg_speed_kmh=3.88,
    distance_m=70000,
    incline_pct=-1.5,
    ramp_angle_deg=0.9,
    elevation_gain_m=12.3,
    elevation_loss_m=4.5,
    pace_kmpm=0.1,
    avg_pace_kmpm=0.2,
    energy_total_kcal=123,
    energy_per_hour_kcal=400,
    energy_per_min_kcal=7,
    heart_rate_bpm=131,
    met=5.5,
    elapsed_s=1800,
    remaining_s=600,
    force_n=-20,
    power_w=150,
    steps=70000,
)
FULL_HEX = (
    "fe3f" "9a01" "8401" "701101" "f1ff" "0900" "7b00" "2d00" "01" "02"
    "7b00" "9001" "07" "83" "37" "0807" "5802" "ecff" "9600" "701101"
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# UUIDs and dispatch


def test_uuids_are_full_lower_case_sig_uuids() -> None:
    assert FTMS_SERVICE_UUID == "00001826-0000-1000-8000-00805f9b34fb"
    assert TREADMILL_DATA_UUID == "00002acd-0000-1000-8000-00805f9b34fb"
    assert CONTROL_POINT_UUID == "00002ad9-0000-1000-8000-00805f9b34fb"


@pytest.mark.parametrize("char", ["2acd", "2ACD", "0x2acd", TREADMILL_DATA_UUID, TREADMILL_DATA_UUID.upper()])
def test_decode_accepts_every_spelling_of_a_characteristic(char: str) -> None:
    assert decode(char, H("00009600")) == TreadmillData(speed_kmh=1.5)


def test_decode_of_an_unknown_characteristic_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="unknown characteristic") as err:
        decode("2a5b", H("0040"))
    assert err.value.char == "2a5b"
    assert err.value.data == H("0040")


def test_control_point_dispatches_on_the_response_code() -> None:
    assert isinstance(decode("2ad9", H("800201")), ControlResponse)
    assert isinstance(decode("2ad9", H("029600")), ControlRequest)


# ---------------------------------------------------------------------------------------------
# Treadmill Data 0x2ACD


def test_flags_zero_means_speed_present() -> None:
    d = decode_treadmill_data(H("00009a01"))
    assert d == TreadmillData(more_data=False, speed_kmh=4.1)


def test_a_more_data_frame_has_no_speed_never_speed_zero() -> None:
    d = decode_treadmill_data(H("03008401"))  # More Data + average speed
    assert d.more_data is True
    assert d.speed_kmh is None
    assert d.avg_speed_kmh == 3.88
    assert "speed_kmh" not in d.to_dict()


def test_every_field_decodes_and_encodes_exactly() -> None:
    data = H(FULL_HEX)
    assert len(data) == 2 + 32 + 3
    assert decode_treadmill_data(data) == FULL
    assert encode_treadmill_data(FULL) == data


def test_to_dict_holds_the_present_fields_by_canonical_name() -> None:
    d = decode_treadmill_data(H("842496000000000000ffffff0200010000"))
    assert d.to_dict() == {
        "more_data": False,
        "speed_kmh": 1.5,
        "distance_m": 0,
        "energy_total_kcal": 0,
        "elapsed_s": 2,
        "steps": 1,
        "truncated": False,
    }


def test_vendor_bit_13_is_a_uint24_step_count_after_the_last_standard_field() -> None:
    d = decode_treadmill_data(H("042096000000000a0b0c"))  # speed, distance, bit 13
    assert d.steps == 0x0C0B0A
    assert d.distance_m == 0


@pytest.mark.parametrize(
    ("hex_", "field"),
    [
        ("0800ff7f0a00", "incline_pct"),  # sint16 N/A
        ("08000a00ff7f", "ramp_angle_deg"),
        ("10000a00ff7f", "elevation_loss_m"),  # Life Fitness (P2): 0x7FFF in a uint16
        ("10000a00ffff", "elevation_loss_m"),  # Matrix (P2): 0xFFFF
        ("8000ffff000000", "energy_total_kcal"),
        ("80000000ffff00", "energy_per_hour_kcal"),
        ("800000000000ff", "energy_per_min_kcal"),
        ("0010ff7f0500", "force_n"),
        ("00100500ff7f", "power_w"),
    ],
)
def test_not_available_sentinels_become_none(hex_: str, field: str) -> None:
    d = decode_treadmill_data(H(hex_[:4]) + H("0000") + H(hex_[4:]))  # flags, speed 0, fields
    assert getattr(d, field) is None
    assert d.speed_kmh == 0.0
    assert field not in d.to_dict()


def test_zero_energy_fields_stay_zero() -> None:  # CS-WP8 and UREVO send 0 where N/A is meant (P4)
    d = decode_treadmill_data(H("800000000000000000"))
    assert (d.energy_total_kcal, d.energy_per_hour_kcal, d.energy_per_min_kcal) == (0, 0, 0)


def test_flags_promising_more_than_arrives_decode_what_fits_and_mark_truncated() -> None:
    # Matrix (P3): flags 0x1F9E promise 32 bytes; 20 arrive and end inside Energy per Hour.
    d = decode_treadmill_data(H("9e1fc60394023e01005a00ff7f3200ffff2500f4"))
    assert d.truncated is True
    assert (d.speed_kmh, d.distance_m, d.incline_pct, d.energy_total_kcal) == (9.66, 318, 9.0, 37)
    assert d.energy_per_hour_kcal is None
    assert d.elapsed_s is None
    assert d.to_dict()["truncated"] is True


def test_flags_alone_are_a_truncated_empty_record() -> None:
    d = decode_treadmill_data(H("8424"))
    assert d.truncated is True
    assert d.present() == frozenset()


@pytest.mark.parametrize("data", [b"", H("84")])
def test_a_frame_without_flags_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError, match="2-byte flags") as err:
        decode_treadmill_data(data)
    assert err.value.char == "2acd"


def test_bytes_after_the_described_fields_are_ignored() -> None:
    # flag bits 14 and 15 are RFU with no known layout: the standard fields still decode.
    assert decode_treadmill_data(H("00c09600dead")) == TreadmillData(speed_kmh=1.5)


def test_encoding_rounds_half_up_and_never_truncates() -> None:
    assert encode_treadmill_data(TreadmillData(speed_kmh=4.1)) == H("00009a01")
    assert encode_treadmill_data(TreadmillData(speed_kmh=4.105)) == H("00009b01")
    assert encode_treadmill_data(TreadmillData(speed_kmh=4.104)) == H("00009a01")


def test_encoding_an_absent_field_of_a_present_group_writes_its_sentinel() -> None:
    frame = encode_treadmill_data(TreadmillData(speed_kmh=1.0, energy_total_kcal=5))
    assert frame == H("800064000500ffffff")


def test_encoding_without_speed_sets_more_data() -> None:
    assert encode_treadmill_data(TreadmillData(distance_m=5)) == H("0500050000")


@pytest.mark.parametrize(
    "d",
    [
        TreadmillData(speed_kmh=-0.01),
        TreadmillData(speed_kmh=655.36),
        TreadmillData(speed_kmh=float("nan")),
        TreadmillData(distance_m=1 << 24),
        TreadmillData(energy_total_kcal=0xFFFF),  # would read back as "not available"
        TreadmillData(incline_pct=3276.7),  # 0x7FFF likewise
        TreadmillData(elevation_gain_m=3276.7),
        TreadmillData(steps=-1),
    ],
)
def test_encoding_a_value_the_wire_cannot_carry_raises_value_error(d: TreadmillData) -> None:
    with pytest.raises(ValueError, match=r"must be a finite number|outside what the wire carries"):
        encode_treadmill_data(d)


# ---------------------------------------------------------------------------------------------
# Multi-packet records (REFERENCE.md §1.4)

TECHNOGYM = [H("1f0084012a00000000000001000000"), H("80064e020200ffffff372700")]


def test_a_record_that_fits_is_one_frame() -> None:
    d = TreadmillData(speed_kmh=2.0, distance_m=3, elapsed_s=7, steps=7)
    assert split_treadmill_record(d) == [encode_treadmill_data(d)]


def test_split_puts_bits_1_to_7_first_and_speed_with_bits_8_to_12_last_like_matrix() -> None:
    d = TreadmillData(
        **{k: v for k, v in FULL.to_dict().items() if k not in ("pace_kmpm", "avg_pace_kmpm", "steps")}
    )
    frames = split_treadmill_record(d, max_payload=20)
    # Matrix Performance (Touch XL): 0x009F (20 bytes) then 0x1F00 (14 bytes).
    assert [int.from_bytes(f[:2], "little") for f in frames] == [0x009F, 0x1F00]
    assert [len(f) for f in frames] == [20, 14]


def test_split_of_the_full_record_needs_three_frames_at_mtu_23() -> None:
    frames = split_treadmill_record(FULL, max_payload=20)
    assert all(len(f) <= 20 for f in frames)
    assert [bool(f[0] & 1) for f in frames] == [True, True, False]
    assert decode_treadmill_data(frames[-1]).speed_kmh == 4.1
    assembler = TreadmillDataAssembler()
    assert [assembler.feed(f) for f in frames][:-1] == [None, None]


def test_split_moves_leading_groups_out_of_an_overlong_last_frame() -> None:
    d = TreadmillData(
        speed_kmh=3.0, heart_rate_bpm=100, met=4.0, elapsed_s=10, remaining_s=20, force_n=1, power_w=2
    )
    frames = split_treadmill_record(d, max_payload=8)
    assert all(len(f) <= 8 for f in frames)
    assert decode_treadmill_data(frames[-1]).speed_kmh == 3.0
    assembler = TreadmillDataAssembler()
    assert [assembler.feed(f) for f in frames][-1] == d


def test_split_refuses_a_record_without_speed_and_a_too_small_payload() -> None:
    with pytest.raises(ValueError, match="needs speed_kmh"):
        split_treadmill_record(TreadmillData(**{k: v for k, v in FULL.to_dict().items() if k != "speed_kmh"}))
    with pytest.raises(ValueError, match="cannot hold"):
        split_treadmill_record(FULL, max_payload=6)  # the energy group alone is 2 + 5 bytes


def test_the_assembler_merges_technogym_parts_into_one_record() -> None:
    assembler = TreadmillDataAssembler()
    assert assembler.feed(TECHNOGYM[0]) is None
    record = assembler.feed(TECHNOGYM[1])
    assert record is not None
    assert record.more_data is False
    assert (record.speed_kmh, record.avg_speed_kmh, record.distance_m, record.elapsed_s) == (
        5.9,
        3.88,
        42,
        39,
    )
    assert (record.incline_pct, record.elevation_gain_m, record.met) == (0.0, 0.1, 5.5)


def test_the_assembler_passes_single_frame_records_through() -> None:
    assembler = TreadmillDataAssembler()
    assert assembler.feed(H("00009600")) == TreadmillData(speed_kmh=1.5)
    assert assembler.feed(H("00009a01")) == TreadmillData(speed_kmh=4.1)


def test_a_repeated_part_discards_the_stale_partial_record() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(TECHNOGYM[0])
    # The last part was lost; the next record starts with a part carrying other values.
    assert assembler.feed(H("05000a0000")) is None  # More Data, distance 10
    assert assembler.discarded == 1
    record = assembler.feed(TECHNOGYM[1])
    assert record is not None
    assert record.distance_m == 10
    assert record.avg_speed_kmh is None  # the stale part's value did not leak in


def test_a_complete_frame_overlapping_the_partial_drops_the_partial() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(H("03008401"))  # More Data, average speed
    record = assembler.feed(H("020096009000"))  # a whole record with its own average speed
    assert record == TreadmillData(speed_kmh=1.5, avg_speed_kmh=1.44)
    assert assembler.discarded == 1


def test_reset_discards_a_partial_record() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(TECHNOGYM[0])
    assembler.reset()
    assert assembler.feed(TECHNOGYM[1]) == decode_treadmill_data(TECHNOGYM[1])
    assert assembler.discarded == 1


def test_a_bad_frame_raises_and_keeps_the_partial_record() -> None:
    assembler = TreadmillDataAssembler()
    assembler.feed(TECHNOGYM[0])
    with pytest.raises(DecodeError):
        assembler.feed(b"\x80")
    record = assembler.feed(TECHNOGYM[1])
    assert record is not None
    assert record.distance_m == 42


# ---------------------------------------------------------------------------------------------
# Feature, ranges, training status, advertisement


def test_features_of_the_citysports_treadmill() -> None:
    f = decode_features(H("4412000001000000"))
    assert f == Features(0x1244, 0x01)
    assert f.features == ["total_distance", "step_count", "expended_energy", "elapsed_time"]
    assert f.targets == ["speed_target"]
    assert f.supports("speed_target")
    assert not f.supports("inclination_target")
    assert not f.supports("no_such_feature")
    assert encode_features(f) == H("4412000001000000")
    assert Features.from_names(f.features, f.targets) == f


def test_a_reserved_feature_bit_is_named_not_dropped() -> None:
    f = decode_features(H("0000020000000080"))
    assert f.features == ["rfu_bit_17"]
    assert f.targets == ["rfu_bit_31"]


def test_features_need_eight_bytes() -> None:
    with pytest.raises(DecodeError, match="8 bytes"):
        decode_features(H("44120000"))


def test_speed_and_incline_ranges() -> None:
    assert decode_speed_range(H("640058023200")) == SpeedRange(1.0, 6.0, 0.5)
    assert decode_incline_range(H("9cff96000500")) == InclineRange(-10.0, 15.0, 0.5)
    assert encode_speed_range(SpeedRange(0.96, 6.43, 0.32)) == H("600083022000")  # UREVO E1L
    assert encode_incline_range(InclineRange(-10.0, 15.0, 0.5)) == H("9cff96000500")
    assert decode_incline_range(H("000000000000")) == InclineRange(0.0, 0.0, 0.0)  # UREVO: no incline
    assert decode_speed_range(H("640058023200")).to_grid().snap(4.1) == 4.0


def test_a_range_whose_minimum_is_above_its_maximum_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="above the maximum"):
        decode_speed_range(H("580264003200"))
    with pytest.raises(DecodeError, match="6 bytes"):
        decode_incline_range(H("9cff9600"))


def test_training_status_strings() -> None:
    assert decode_training_status(H("0101")).string == ""  # string flag, empty string (P10)
    assert decode_training_status(H("0001")).string is None
    s = decode_training_status(H("010d") + b"Quick start\x00")
    assert (s.status, s.status_name, s.string) == (
        TrainingStatusCode.MANUAL_MODE,
        "manual_mode",
        "Quick start",
    )
    assert decode_training_status(H("0101ff")).string == "\ufffd"  # undecodable bytes are replaced


def test_reserved_training_status_codes_are_kept_as_numbers() -> None:  # UREVO sends 0x10/0x11
    s = decode_training_status(H("0011"))
    assert (s.status, s.status_name) == (0x11, "rfu_0x11")


def test_training_status_encodes() -> None:
    assert encode_training_status(TrainingStatusCode.PRE_WORKOUT, "") == H("010e")
    assert encode_training_status(TrainingStatusCode.IDLE) == H("0001")
    with pytest.raises(DecodeError, match="flags and status"):
        decode_training_status(H("01"))


@pytest.mark.parametrize(
    "hex_",
    [
        "010100",  # spec
        "0101",  # one-byte machine type (P13)
        "010001",  # byte-swapped machine type (P13)
        "2618010100",  # with the service UUID in front
        "06162618010100",  # the whole AD structure, as in the UREVO scan response
    ],
)
def test_advertisement_of_a_treadmill(hex_: str) -> None:
    a = decode_advertisement(H(hex_))
    assert a.available is True
    assert a.machine_types == ["treadmill"]
    assert a.type_bits == 1


def test_advertisement_encodes_and_reports_other_types() -> None:
    assert encode_advertisement() == H("010100")
    a = decode_advertisement(H("002100"))
    assert a.available is False
    assert a.machine_types == ["treadmill", "indoor_bike"]
    with pytest.raises(DecodeError, match="machine type"):
        decode_advertisement(H("01"))
    with pytest.raises(ValueError, match="unknown machine type"):
        encode_advertisement(types=("elliptical",))


# ---------------------------------------------------------------------------------------------
# Control point 0x2AD9


def test_control_point_encoders() -> None:
    assert request_control() == H("00")
    assert reset() == H("01")
    assert start_or_resume() == H("07")
    assert stop() == H("0801")
    assert pause() == H("0802")
    assert set_target_speed(4.1) == H("029a01")  # 410, not 409
    assert set_target_speed(1.5) == H("029600")
    assert set_target_incline(6) == H("033c00")
    assert set_target_incline(-1.05) == H("03f5ff")  # -10.5 -> -11: half away from zero
    assert set_target_heart_rate(120) == H("0678")
    assert set_targeted_energy(250) == H("09fa00")
    assert set_targeted_steps(5000) == H("0a8813")
    assert set_targeted_distance(100000) == H("0ca08601")  # uint24
    assert set_targeted_time(1800) == H("0d0807")


@pytest.mark.parametrize(
    ("encoder", "value"),
    [
        (set_target_speed, -1.0),
        (set_target_speed, 655.36),
        (set_target_speed, float("inf")),
        (set_target_incline, 3276.8),
        (set_targeted_distance, 1 << 24),
        (set_targeted_time, 65536),
        (set_target_heart_rate, 256),
    ],
)
def test_control_point_values_outside_the_wire_type_raise(encoder: object, value: float) -> None:
    with pytest.raises(ValueError, match=r"finite|outside what the wire carries"):
        encoder(value)  # type: ignore[operator]


def test_control_requests_decode_with_named_parameters() -> None:
    assert decode_control_request(H("029a01")) == ControlRequest(
        OpCode.SET_TARGET_SPEED, {"target_speed_kmh": 4.1}
    )
    assert decode_control_request(H("0ca08601")).params == {"targeted_distance_m": 100000}
    assert decode_control_request(H("0e10000200")).params == {"fat_burn_s": 16, "fitness_s": 2}
    assert decode_control_request(H("0801")).to_dict() == {"op": 8, "name": "stop_or_pause", "control": 1}
    assert decode_control_request(H("2a")) == ControlRequest(0x2A, {})  # reserved: named, no parameters
    assert decode_control_request(H("2a")).name == "rfu_0x2a"


@pytest.mark.parametrize("hex_", ["", "02", "0296", "0ca086", "80"])
def test_malformed_control_requests_are_decode_errors(hex_: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_control_request(H(hex_))
    assert err.value.char == "2ad9"


def test_encode_control_request_names_its_parameters() -> None:
    assert encode_control_request(OpCode.SET_TARGETED_CADENCE, targeted_cadence_per_min=90.5) == H("14b500")
    with pytest.raises(ValueError, match="takes parameters"):
        encode_control_request(OpCode.SET_TARGET_SPEED, speed=4.0)
    with pytest.raises(ValueError, match="not a request op code"):
        encode_control_request(0x80)


def test_control_responses() -> None:
    r = decode_control_response(H("800203"))
    assert (r.request_op, r.result, r.result_name, r.ok) == (
        2,
        ResultCode.INVALID_PARAMETER,
        "invalid_parameter",
        False,
    )
    assert decode_control_response(H("800001")).ok
    assert decode_control_response(H("800006")).result_name == "rfu_0x06"
    assert decode_control_response(H("80080100")).params == {}  # trailing byte ignored
    spin = decode_control_response(H("801301e803d007"))
    assert spin.params == {"target_speed_low_kmh": 10.0, "target_speed_high_kmh": 20.0}
    assert encode_control_response(OpCode.START_OR_RESUME, ResultCode.OPERATION_FAILED) == H("800704")
    assert decode("2ad9", H("800705")).to_dict() == {
        "request_op": 7,
        "request_name": "start_or_resume",
        "result": 5,
        "result_name": "control_not_permitted",
    }


@pytest.mark.parametrize("hex_", ["80", "8002", "810201"])
def test_malformed_control_responses_are_decode_errors(hex_: str) -> None:
    with pytest.raises(DecodeError):
        decode_control_response(H(hex_))


# ---------------------------------------------------------------------------------------------
# Fitness Machine Status 0x2ADA


@pytest.mark.parametrize(
    ("hex_", "op", "params"),
    [
        ("01", StatusOp.RESET, {}),
        ("0202", StatusOp.STOPPED_OR_PAUSED_BY_USER, {"control": 2}),
        ("03", StatusOp.STOPPED_BY_SAFETY_KEY, {}),
        ("040000", StatusOp.STARTED_OR_RESUMED_BY_USER, {}),  # padded (P8)
        ("020100", StatusOp.STOPPED_OR_PAUSED_BY_USER, {"control": 1}),  # padded (P8)
        ("059a01", StatusOp.TARGET_SPEED_CHANGED, {"target_speed_kmh": 4.1}),
        ("06f6ff", StatusOp.TARGET_INCLINE_CHANGED, {"target_incline_pct": -1.0}),
        ("070a", StatusOp.TARGET_RESISTANCE_LEVEL_CHANGED, {"target_resistance": 1.0}),  # v1.0 uint8
        ("07f6ff", StatusOp.TARGET_RESISTANCE_LEVEL_CHANGED, {"target_resistance": -1.0}),  # v1.0.1 sint16
        ("0da08601", StatusOp.TARGETED_DISTANCE_CHANGED, {"targeted_distance_m": 100000}),
        ("ff", StatusOp.CONTROL_PERMISSION_LOST, {}),
    ],
)
def test_machine_status(hex_: str, op: int, params: dict[str, object]) -> None:
    s = decode_machine_status(H(hex_))
    assert (s.op, s.params) == (op, params)
    assert s.name == StatusOp(op).name.lower()
    assert s.to_dict() == {"op": op, "event": s.name, **params}


def test_reserved_status_op_is_named_and_malformed_status_raises() -> None:
    assert decode_machine_status(H("30")).name == "rfu_0x30"
    with pytest.raises(DecodeError, match="needs 3 bytes"):
        decode_machine_status(H("0596"))
    with pytest.raises(DecodeError, match="empty"):
        decode_machine_status(b"")


def test_machine_status_encodes() -> None:
    assert encode_machine_status(StatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=4.1) == H("059a01")
    assert encode_machine_status(StatusOp.STOPPED_OR_PAUSED_BY_USER, control=1) == H("0201")
    assert encode_machine_status(StatusOp.CONTROL_PERMISSION_LOST) == H("ff")
    with pytest.raises(ValueError, match="takes parameters"):
        encode_machine_status(StatusOp.TARGET_SPEED_CHANGED)
