"""What a scoped supervisor's wallboard shows of the listening sessions: those on agents in their
scope (their own included), never those on agents outside it."""

from ccserver.capabilities.supervision.service import SupervisionService

BOARD = {
    "topic": "wallboard",
    "queues": [{"queue": "support"}, {"queue": "sales"}],
    "agents": [
        {"username": "alice", "queues": ["support"]},
        {"username": "bruno", "queues": ["sales"]},
    ],
    "spying": {
        "sophie": {"agent": "alice", "mode": "listen", "active": True},
        "sam": {"agent": "bruno", "mode": "whisper", "active": True},
    },
}


def test_a_scoped_supervisor_sees_the_sessions_on_their_agents_only():
    view = SupervisionService.filtered(BOARD, {"support"}, set())
    assert [a["username"] for a in view["agents"]] == ["alice"]
    assert view["spying"] == {"sophie": {"agent": "alice", "mode": "listen", "active": True}}


def test_a_supervisor_without_scope_sees_no_session():
    assert SupervisionService.filtered(BOARD, set(), set())["spying"] == {}


def test_an_admin_sees_every_session():
    assert SupervisionService.filtered(BOARD, None, None)["spying"] == BOARD["spying"]


def test_an_agent_outside_queues_on_a_call_of_the_supervisors_queue_is_on_their_wallboard():
    outside = {"username": "chloe", "queues": [], "call": {"queue": "support"}, "other_calls": []}
    aside = {"username": "dan", "queues": ["sales"], "call": {"queue": "sales"}, "other_calls": [{"queue": "support"}]}
    idle = {"username": "eve", "queues": [], "call": None, "other_calls": []}
    board = {**BOARD, "agents": BOARD["agents"] + [outside, aside, idle]}
    view = SupervisionService.filtered(board, {"support"}, set())
    assert [a["username"] for a in view["agents"]] == ["alice", "chloe", "dan"]
