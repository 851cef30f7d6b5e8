"""Closed sets are enums with one source of truth: exit codes by stop reason, who stopped or
paused the machine, the sim's quirks and faults, a refused MQTT command (no message text)."""

from __future__ import annotations

import pytest

from treadwalk.core.errors import ExitCode, UsageError
from treadwalk.core.model import EXIT_BY_STOP_REASON, PausedBy, StoppedBy, StopReason
from treadwalk.sim.options import PRESETS, QUIRKS, FaultKind, Quirk, parse_fault, parse_quirks
from treadwalk.telemetry.payloads import BadCommand, CommandProblem, parse_command


def test_every_stop_reason_has_one_exit_code() -> None:
    assert set(EXIT_BY_STOP_REASON) == set(StopReason)
    assert {r: r.exit_code for r in StopReason} == {
        StopReason.FINISHED: ExitCode.OK,
        StopReason.USER: ExitCode.OK,
        StopReason.MACHINE: ExitCode.OK,
        StopReason.CONNECTION_LOST: ExitCode.FAILURE,
        StopReason.ERROR: ExitCode.FAILURE,
    }
    assert UsageError.exit_code == ExitCode.USAGE == 2


def test_who_stopped_is_shown_in_words() -> None:
    assert [b.shown for b in StoppedBy] == ["console", "safety key", "by itself"]
    assert {str(p) for p in PausedBy} == {"user", "machine", "remote"}  # serialised as before


def test_quirks_and_faults_are_enums() -> None:
    assert set(QUIRKS) == set(Quirk)
    assert all(q in Quirk for preset in PRESETS.values() for q in preset)
    parsed = parse_quirks("kingsmith,padded-status")
    assert all(isinstance(q, Quirk) for q in parsed)
    assert Quirk.NO_RESPONSE in parsed and Quirk.PADDED_STATUS in parsed
    assert parse_fault("drop@3s+2s").kind is FaultKind.DROP
    assert parse_fault("no_answer:start").kind is FaultKind.NO_ANSWER
    assert parse_fault("reject:02").kind is FaultKind.REJECT


def test_a_start_over_mqtt_is_refused_by_kind_not_by_text() -> None:
    with pytest.raises(BadCommand) as start:
        parse_command(b'{"command": "start"}')
    assert start.value.problem is CommandProblem.NEVER_ALLOWED
    with pytest.raises(BadCommand) as bad:
        parse_command(b'{"command": "fly"}')
    assert bad.value.problem is CommandProblem.MALFORMED
