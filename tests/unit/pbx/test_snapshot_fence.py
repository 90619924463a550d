"""SnapshotFence, pure: the events of a snapshot's window win over it, per channel, queue caller
and queue member; what no event mentioned is left as the snapshot says."""

from ccserver.adapters.pbx.fence import SnapshotFence
from ccserver.core import events as ev


def member(paused: bool, change: str = "snapshot") -> ev.QueueMemberChanged:
    return ev.QueueMemberChanged(
        change=change,
        queue="support",
        interface="PJSIP/agent1",
        member_name="alice",
        status=1,
        paused=paused,
        paused_reason="lunch" if paused else "",
    )


def test_a_pause_told_by_an_event_during_the_snapshot_is_kept():
    fence = SnapshotFence()
    fence.open()
    fence.observe(member(True, change="paused"))  # after QueueStatus was built
    fenced, report = fence.close(ev.PbxSnapshot(queue_members=(member(False),)))
    assert [(m.paused, m.paused_reason, m.change) for m in fenced.queue_members] == [(True, "lunch", "snapshot")]
    assert report.events == 1 and report.corrected == 1


def test_a_member_removed_during_the_snapshot_is_not_put_back():
    fence = SnapshotFence()
    fence.open()
    fence.observe(member(False, change="removed"))
    fenced, _ = fence.close(ev.PbxSnapshot(queue_members=(member(False),)))
    assert fenced.queue_members == ()


def test_a_state_change_during_the_snapshot_is_not_rolled_back():
    fence = SnapshotFence()
    fence.open()
    fence.observe(ev.ChannelAnswered(uniqueid="a", channel="PJSIP/customers-a"))
    snap = ev.PbxSnapshot(
        channels=(
            ev.ChannelSnapshot("a", "a", "PJSIP/customers-a", "Ring"),
            ev.ChannelSnapshot("x", "x", "PJSIP/customers-x", "Up"),
        )
    )
    fenced, report = fence.close(snap)
    assert [(c.uniqueid, c.state) for c in fenced.channels] == [("a", "Up"), ("x", "Up")]
    assert report.corrected == 1


def test_without_events_in_its_window_the_snapshot_is_the_truth():
    fence = SnapshotFence()
    fence.open()
    snap = ev.PbxSnapshot(
        channels=(ev.ChannelSnapshot("x", "x", "PJSIP/customers-x", "Up"),), queue_members=(member(False),)
    )
    fenced, report = fence.close(snap)
    assert fenced == snap and report.corrected == 0


def test_drift_is_suspected_for_events_about_channels_never_seen_only_after_a_snapshot():
    fence = SnapshotFence()
    fence.observe(ev.ChannelHungup(uniqueid="early"))  # before the first snapshot: nothing known yet
    assert fence.drift == ""
    fence.open()
    fence.close(ev.PbxSnapshot(channels=(ev.ChannelSnapshot("x", "x", "PJSIP/customers-x", "Up"),)))
    fence.observe(ev.ChannelCreated(uniqueid="y"))
    fence.observe(ev.ChannelHungup(uniqueid="y"))
    fence.observe(ev.ChannelHungup(uniqueid="x"))
    assert fence.drift == ""
    fence.observe(ev.ChannelStateChanged(uniqueid="ghost", state="Ringing"))
    assert "ghost" in fence.drift
