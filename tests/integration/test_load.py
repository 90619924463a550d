"""Reliability under load, the small run of bench/load.py: 20 agents on sipp phones (one sipp
process) logged in through the web with their desk WebSocket open, a supervisor on the wallboard,
two waves of 20 callers (one sipp process each) talking 5 s, recording "always".

Exact equalities only, no timing: every call answered (none failed, refused or abandoned), one
call record per call placed with the agent whose phone answered and the talk time played, every
answered call recorded (a stored recording whose file exists), and after each wave the
wallboard's counters equal what the callers and the phones saw. The bench waits on those states
(wallboard pushes, database rows), never on sleeps."""

from __future__ import annotations

import pytest

from bench.load import format_report, run_load

pytestmark = pytest.mark.asterisk

AGENTS = 20
WAVES = 2
TALK = 5.0


async def test_twenty_agents_two_waves_every_call_answered_recorded_and_counted(tmp_path):
    report = await run_load(AGENTS, waves=WAVES, talk=TALK, rate=10.0, work=tmp_path / "load")
    summary = format_report(report)
    placed = AGENTS * WAVES
    assert (report.total("placed"), report.total("answered")) == (placed, placed), summary
    assert (report.total("failed"), report.total("refused"), report.total("abandoned")) == (0, 0, 0), summary

    assert report.stored_in_time, summary
    assert report.records_missing == [], summary
    assert report.records_duplicated == [], summary
    assert report.records_wrong == [], summary

    assert report.unrecorded == [], summary
    assert report.recording_files_missing == [], summary
    assert len(report.recording_delays) == placed, summary
    assert (report.alerts["recording_missed"], report.alerts["call_refused"]) == (0, 0), summary

    for wave in report.waves:
        assert wave.settled and wave.board_matches, summary
        assert (wave.board_offered, wave.board_answered, wave.board_abandoned) == (
            AGENTS * wave.index,
            AGENTS * wave.index,
            0,
        ), summary
