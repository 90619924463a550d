"""The desk snapshot assembled from fakes of the live services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccserver.capabilities.desk.service import DeskService
from ccserver.core.errors import NotFound


class Status:
    def __init__(self, state: str, call: dict | None) -> None:
        self.data = {"username": "zoe", "state": state, "call": call}

    def to_dict(self) -> dict:
        return dict(self.data)


class Agents:
    def __init__(self, status: Status | None) -> None:
        self.status = status

    def status_of(self, username: str):
        return self.status if username == "zoe" else None


class Clock:
    def now(self):
        return datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


class Controls:
    def control_state(self, uniqueid: str):
        return {"uniqueid": uniqueid, "held": True, "muted": False}


class BrokenCallbacks:
    async def callbacks_for(self, username: str, role: str):
        raise OSError("database down")


class Recordings:
    def desk_state(self, username: str):
        return {"recording": {"state": "recording"}}


CALL = {"uniqueid": "c1", "answered_at": "2026-12-06T01:59:00+00:00"}


async def test_the_snapshot_gathers_each_part_and_survives_a_database_outage():
    service = DeskService(
        Agents(Status("on_call", CALL)),
        Clock(),
        controls=Controls(),
        callbacks=BrokenCallbacks(),
        recordings=Recordings(),
        resync_after=-1,
    )
    service.remember_pop("zoe", {"topic": "screen_pop", "uniqueid": "c1"})
    snap = (await service.snapshot("zoe")).to_dict()
    assert snap["screen_pop"]["uniqueid"] == "c1" and snap["call_control"]["held"] is True
    assert snap["recording"] == {"state": "recording"} and snap["callbacks"] == []  # not read: none shown
    assert snap["at"] == "2026-12-06T02:00:00+00:00" and snap["resync_after"] == 0.0


async def test_a_user_without_an_agent_account_gets_not_found():
    with pytest.raises(NotFound):
        await DeskService(Agents(None), Clock()).snapshot("zoe")


async def test_logging_out_forgets_the_last_pop():
    agents = Agents(Status("logged_out", None))
    service = DeskService(agents, Clock())
    service.remember_pop("zoe", {"topic": "screen_pop", "uniqueid": "c1"})
    assert (await service.snapshot("zoe")).pop is None
    agents.status = Status("wrap_up", None)
    assert (await service.snapshot("zoe")).pop is None  # forgotten, not merely hidden


async def test_two_calls_at_once_the_other_one_comes_with_its_pop_and_controls():
    other = {"uniqueid": "c0", "answered_at": "2026-12-06T01:50:00+00:00", "caller_number": "0622"}
    status = Status("on_call", CALL)
    status.data["other_calls"] = [other]
    service = DeskService(Agents(status), Clock(), controls=Controls())
    service.remember_pop("zoe", {"topic": "screen_pop", "uniqueid": "c0"})
    service.remember_pop("zoe", {"topic": "screen_pop", "uniqueid": "c1"})
    snap = (await service.snapshot("zoe")).to_dict()
    assert snap["screen_pop"]["uniqueid"] == "c1" and snap["call_control"]["uniqueid"] == "c1"
    [listed] = snap["other_calls"]
    assert listed["uniqueid"] == "c0" and listed["caller_number"] == "0622"
    assert listed["screen_pop"]["uniqueid"] == "c0" and listed["call_control"]["uniqueid"] == "c0"
    # the call shown ends: the other one is shown with its own pop (not the latest one sent)
    status.data.update(call=other, other_calls=[], last_call="c1")
    snap = (await service.snapshot("zoe")).to_dict()
    assert snap["screen_pop"]["uniqueid"] == "c0" and snap["other_calls"] == []
    # it ends too, into wrap-up: the pop of the call that ended last
    status.data.update(state="wrap_up", call=None, last_call="c0")
    assert (await service.snapshot("zoe")).pop["uniqueid"] == "c0"


async def test_wrap_up_of_a_call_whose_pop_has_another_id_keeps_the_latest_pop():
    status = Status("wrap_up", None)
    status.data["last_call"] = "agent-leg-id"  # a click-to-dial call: its pop has the customer's id
    service = DeskService(Agents(status), Clock())
    service.remember_pop("zoe", {"topic": "screen_pop", "uniqueid": "c7", "direction": "outbound"})
    assert (await service.snapshot("zoe")).pop["uniqueid"] == "c7"
