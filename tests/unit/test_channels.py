from ccserver.core import events as ev
from ccserver.core.channels import VANISHED, ChannelRegistry


def snap(*channels):
    return ev.PbxSnapshot(channels=tuple(channels))


def test_snapshot_reports_channels_that_vanished_during_an_outage():
    reg = ChannelRegistry()
    reg.on_created(ev.ChannelCreated(uniqueid="1", linkedid="1", channel="PJSIP/a-1", state="Up"))
    reg.on_created(ev.ChannelCreated(uniqueid="2", linkedid="2", channel="PJSIP/b-1", state="Ring"))
    out = reg.on_snapshot(snap(ev.ChannelSnapshot("2", "2", "PJSIP/b-1", "Ring")))
    hangups = [e for e in out if isinstance(e, ev.ChannelHungup)]
    assert [(h.uniqueid, h.cause_text) for h in hangups] == [("1", VANISHED)]
    assert set(reg.channels) == {"2"}
    assert isinstance(out[-1], ev.ResyncCompleted) and out[-1].differences == 1


def test_snapshot_reports_new_and_answered_channels():
    reg = ChannelRegistry()
    reg.on_created(ev.ChannelCreated(uniqueid="2", linkedid="2", channel="PJSIP/b-1", state="Ring"))
    out = reg.on_snapshot(
        snap(ev.ChannelSnapshot("2", "2", "PJSIP/b-1", "Up"), ev.ChannelSnapshot("3", "3", "Local/x@y-1;1", "Up"))
    )
    kinds = [(type(e).__name__, getattr(e, "uniqueid", "")) for e in out]
    assert ("ChannelAnswered", "2") in kinds
    assert ("ChannelCreated", "3") in kinds and ("ChannelAnswered", "3") in kinds
    assert reg.channels["2"].state == "Up"


def test_unchanged_snapshot_produces_no_differences():
    reg = ChannelRegistry()
    reg.on_created(ev.ChannelCreated(uniqueid="2", linkedid="2", channel="c", state="Up"))
    out = reg.on_snapshot(snap(ev.ChannelSnapshot("2", "2", "c", "Up")))
    assert len(out) == 1 and out[0].differences == 0


def test_hangup_removes_channel():
    reg = ChannelRegistry()
    reg.on_created(ev.ChannelCreated(uniqueid="9", channel="c"))
    reg.on_hungup(ev.ChannelHungup(uniqueid="9"))
    assert reg.channels == {}
