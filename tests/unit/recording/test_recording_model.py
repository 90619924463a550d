"""The recording rules: policies and desk actions, retention, grids and scoring, ranges, WAV."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from ccserver.capabilities.recording import model as m
from ccserver.core.errors import Conflict, Forbidden, InvalidInput

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def live(policy="always", state=m.NONE, **changes):
    values = dict(
        uniqueid="1.1",
        linkedid="1.1",
        channel="PJSIP/customers-01",
        agent="alice",
        queue="sales",
        policy=policy,
        retention_days=180,
        state=state,
    )
    values.update(changes)
    return m.LiveRecording(**values)


# --- policies ----------------------------------------------------------------------------------


def test_only_always_starts_on_answer():
    assert m.RecordingPolicy("always").starts_on_answer
    assert not m.RecordingPolicy("on_demand").starts_on_answer
    assert not m.RecordingPolicy("never").starts_on_answer


@pytest.mark.parametrize(
    "policy,days,field",
    [
        ("sometimes", 10, "recording_policy"),
        ("always", -1, "retention_days"),
        ("always", True, "retention_days"),
        ("never", 40000, "retention_days"),
        ("always", "30", "retention_days"),
    ],
)
def test_bad_policy_is_refused_naming_the_field(policy, days, field):
    with pytest.raises(InvalidInput) as err:
        m.validate_policy(policy, days)
    assert err.value.details["field"] == field


def test_campaign_queue_names_map_to_campaign_ids():
    assert m.campaign_of_queue("camp-12") == 12
    assert m.campaign_of_queue("sales") is None
    assert m.campaign_of_queue("camp-x") is None


def test_on_demand_call_can_be_started_paused_resumed_and_stopped():
    r = live("on_demand")
    assert m.allowed_actions(r) == ["start"]
    r = m.apply_action(r, "start", T0)
    assert r.state == m.RECORDING and r.started_at == T0
    assert m.allowed_actions(r) == ["pause", "stop"]
    r = m.apply_action(r, "pause", T0 + timedelta(seconds=2))
    assert r.state == m.PAUSED and r.pauses == ((2.0, None),)
    assert m.allowed_actions(r) == ["resume", "stop"]
    r = m.apply_action(r, "resume", T0 + timedelta(seconds=5.5))
    assert r.pauses == ((2.0, 5.5),)
    r = m.apply_action(r, "stop", T0 + timedelta(seconds=9))
    assert r.state == m.STOPPED and m.allowed_actions(r) == []
    with pytest.raises(Conflict):
        m.check_action(r, "start")


def test_always_recorded_call_can_be_paused_but_not_stopped():
    r = m.apply_action(live("always"), "start", T0)
    with pytest.raises(Forbidden):
        m.check_action(r, "stop")
    with pytest.raises(Conflict):
        m.check_action(r, "start")
    with pytest.raises(Conflict):
        m.check_action(r, "resume")


def test_never_recorded_call_cannot_start_and_unstarted_cannot_pause():
    with pytest.raises(Forbidden):
        m.check_action(live("never"), "start")
    with pytest.raises(Conflict):
        m.check_action(live("on_demand"), "pause")
    with pytest.raises(InvalidInput):
        m.check_action(live(), "rewind")


def test_open_pause_closes_at_the_end_and_paused_time_adds_up():
    pauses = m.close_pauses(((1.0, 2.5), (4.0, None)), 7.0)
    assert pauses == ((1.0, 2.5), (4.0, 7.0))
    assert m.paused_seconds(pauses) == 4.5


def test_pausing_twice_is_refused():
    r = m.apply_action(m.apply_action(live(), "start", T0), "pause", T0)
    with pytest.raises(Conflict):
        m.check_action(r, "pause")


# --- retention ---------------------------------------------------------------------------------


def test_expiry_after_retention_days_and_never_with_zero():
    assert m.expires_at(T0, 30) == T0 + timedelta(days=30)
    assert m.expires_at(T0, 0) is None
    assert not m.is_expired(T0, 30, T0 + timedelta(days=29, hours=23))
    assert m.is_expired(T0, 30, T0 + timedelta(days=30))
    assert not m.is_expired(T0, 0, T0 + timedelta(days=10_000))
    assert m.purge_cutoff(30, T0) == T0 - timedelta(days=30)
    assert m.purge_cutoff(0, T0) is None


# --- grids ---------------------------------------------------------------------------------------

GRID = {
    "name": "Accueil",
    "sections": [
        {
            "title": "Accueil",
            "weight": 1,
            "criteria": [
                {"id": "greeting", "label": "Formule d'accueil", "weight": 1},
                {"id": "identity", "label": "Identité vérifiée", "weight": 2, "fatal": True},
            ],
        },
        {
            "title": "Traitement",
            "weight": 3,
            "criteria": [
                {"id": "listening", "label": "Écoute", "weight": 1, "max_points": 5},
                {"id": "solution", "label": "Solution", "weight": 3, "max_points": 4, "allow_na": True},
            ],
        },
    ],
}


def test_weighted_score_of_sections_and_criteria():
    grid = m.parse_grid(GRID)
    result = m.score_evaluation(grid, {"greeting": 0, "identity": 1, "listening": 5, "solution": 2})
    # Accueil: (1*0 + 2*1) / 3 = 66.67 %; Traitement: (1*1 + 3*0.5) / 4 = 62.5 %
    assert [s.score for s in result.sections] == [66.7, 62.5]
    assert result.score == round((1 * 200 / 3 + 3 * 62.5) / 4, 1) == 63.5
    assert not result.fatal


def test_failed_fatal_criterion_scores_zero():
    result = m.score_evaluation(m.parse_grid(GRID), {"greeting": 1, "identity": 0, "listening": 5, "solution": 4})
    assert result.score == 0.0 and result.fatal and result.failed_fatal == ("identity",)
    assert result.sections[1].score == 100.0  # the detail is kept


def test_not_applicable_criteria_are_left_out_of_the_mean():
    result = m.score_evaluation(
        m.parse_grid(GRID),
        {"greeting": True, "identity": True, "listening": 4, "solution": {"value": "na", "comment": "pas de demande"}},
    )
    assert result.sections[1].score == 80.0
    assert result.answers["solution"] == {"value": "na", "comment": "pas de demande"}
    assert result.score == round((100 + 3 * 80) / 4, 1)


def test_section_with_only_na_does_not_count():
    grid = m.parse_grid(
        {
            "name": "g",
            "sections": [
                {"title": "a", "weight": 1, "criteria": [{"id": "x", "label": "x"}]},
                {"title": "b", "weight": 9, "criteria": [{"id": "y", "label": "y", "allow_na": True}]},
            ],
        }
    )
    result = m.score_evaluation(grid, {"x": 1, "y": "na"})
    assert result.score == 100.0 and result.sections[1].score is None


@pytest.mark.parametrize(
    "answers,field",
    [
        ({"greeting": 1, "identity": 1, "listening": 6, "solution": 1}, "listening"),
        ({"greeting": 1, "identity": "na", "listening": 1, "solution": 1}, "identity"),
        ({"greeting": 1, "identity": 1, "listening": 1}, "answers"),
        ({"greeting": 1, "identity": 1, "listening": 1, "solution": 1, "bogus": 1}, "answers"),
        ({"greeting": -1, "identity": 1, "listening": 1, "solution": 1}, "greeting"),
        ({"greeting": 0.5, "identity": 1, "listening": 1, "solution": 1}, "greeting"),
    ],
)
def test_bad_answers_are_refused_naming_the_criterion(answers, field):
    with pytest.raises(InvalidInput) as err:
        m.score_evaluation(m.parse_grid(GRID), answers)
    assert err.value.details["field"] == field


def test_grid_problems_are_all_listed():
    bad = {
        "name": "",
        "sections": [
            {
                "title": "",
                "weight": 0,
                "criteria": [
                    {"id": "Bad Id", "label": "x"},
                    {"id": "dup", "label": "x", "fatal": True, "max_points": 3},
                    {"id": "dup", "label": "", "weight": -2},
                ],
            },
            {"title": "empty", "criteria": []},
        ],
    }
    with pytest.raises(InvalidInput) as err:
        m.parse_grid(bad)
    fields = [e["field"] for e in err.value.details["errors"]]
    assert "name" in fields and "sections[1].title" in fields and "sections[1].weight" in fields
    assert "sections[1].criteria[1].id" in fields and "sections[1].criteria[2].fatal" in fields
    assert "sections[1].criteria[3].id" in fields and "sections[1].criteria[3].label" in fields
    assert "sections[1].criteria[3].weight" in fields and "sections[2].criteria" in fields


def test_grid_round_trips_through_its_json_form():
    grid = m.parse_grid(GRID)
    assert m.parse_grid(grid.to_dict()) == grid


def test_averages_per_key():
    rows = [("alice", 80.0, False), ("bob", 50.0, False), ("alice", 0.0, True), ("alice", 100.0, False)]
    result = {a.key: a for a in m.averages(rows)}
    assert result["alice"].count == 3 and result["alice"].average == 60.0 and result["alice"].fatal_count == 1
    assert result["bob"].average == 50.0


# --- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header,expected",
    [
        (None, None),
        ("", None),
        ("bytes=0-", (0, 999)),
        ("bytes=100-199", (100, 199)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=0-0", (0, 0)),
        ("bytes=1-2,5-6", None),
        ("items=0-1", None),
        ("bytes=-", None),
    ],
)
def test_range_header_parsing(header, expected):
    assert m.parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=500-100"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(m.RangeNotSatisfiable):
        m.parse_range(header, 1000)


# --- WAV -----------------------------------------------------------------------------------------


def wav_header(data_bytes: int, rate=8000, channels=1, bits=16, declared=None) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)
    declared = data_bytes if declared is None else declared
    return (
        b"RIFF"
        + struct.pack("<I", 36 + declared)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", declared)
    )


def test_wav_duration_from_header_and_size():
    info = m.parse_wav_header(wav_header(126720), 44 + 126720)
    assert (info.sample_rate, info.channels, info.bits, info.data_offset) == (8000, 1, 16, 44)
    assert info.duration_ms == 7920


def test_wav_cut_short_counts_what_the_file_holds():
    assert m.parse_wav_header(wav_header(160000), 44 + 16000).duration_ms == 1000
    assert m.parse_wav_header(wav_header(0, declared=0), 44 + 32000).duration_ms == 2000


def test_not_a_wav_is_refused():
    with pytest.raises(InvalidInput):
        m.parse_wav_header(b"ID3\x03" + bytes(60), 64)


def test_spool_name_is_dated_and_safe():
    assert m.spool_name("1795398002.0", T0, "ab12") == "ccs/2026/11/23/1795398002.0-ab12.wav"
    assert "/" not in m.spool_name("../../etc", T0, "x").split("/", 4)[4]


def test_caller_number_forms_of_a_customer():
    forms = m.caller_number_forms(["+33612345678"])
    assert {"+33612345678", "33612345678", "0033612345678", "0612345678"} <= set(forms)
