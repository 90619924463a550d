"""`AriStasis` (the IVR's StasisCommands over the ARI link): arguments checked, errors mapped."""

from __future__ import annotations

import pytest

from ccserver.adapters.pbx.stasis import AriStasis
from ccserver.core.errors import InvalidInput, PbxCommandFailed


class Link:
    app = "tapp"

    def __init__(self, result=None, status: int | None = None) -> None:
        self.calls: list = []
        self.result, self.status = result, status

    async def call(self, resource: str, operation: str, **params):
        self.calls.append((f"{resource}.{operation}", params))
        if self.status is not None:
            raise PbxCommandFailed("failed", operation=f"{resource}.{operation}", status=self.status)
        return self.result


async def test_commands_reach_ari_with_its_parameter_names():
    link = Link({"id": "pb1", "value": "1", "channel_ids": ["c1", "c2"]})
    stasis = AriStasis(link)
    assert await stasis.play("c1", ["sound:a", "sound:b"], language="fr", playback_id="pb1") == "pb1"
    await stasis.continue_in_dialplan("c1", "ccq-ventes", "open", 1)
    assert await stasis.get_variable("c1", "DIALPLAN_EXISTS(ccq-ventes,open,1)") == "1"
    assert await stasis.app_channels() == {"c1", "c2"}
    assert link.calls[0] == (
        "channels.play",
        {"channelId": "c1", "media": "sound:a,sound:b", "lang": "fr", "playbackId": "pb1"},
    )
    assert link.calls[1] == (
        "channels.continueInDialplan",
        {"channelId": "c1", "context": "ccq-ventes", "extension": "open", "priority": 1},
    )
    assert link.calls[3] == ("applications.get", {"applicationName": "tapp"})


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.answer("c1\r\nX"),
        lambda s: s.continue_in_dialplan("c1", "ctx\n", "s"),
        lambda s: s.play("c1", ["sound:a\r\n"]),
        lambda s: s.set_variable("c1", "NAME\n", "v"),
    ],
)
async def test_line_breaks_in_names_and_ids_are_refused(call):
    link = Link()
    with pytest.raises(InvalidInput):
        await call(AriStasis(link))
    assert link.calls == []


async def test_line_breaks_in_a_value_become_spaces():
    link = Link()
    await AriStasis(link).set_variable("c1", "IVR_ERROR", "boom\r\nQueue: x")
    assert link.calls[0][1]["value"] == "boom Queue: x"


@pytest.mark.parametrize("status", [404, 409])
async def test_channel_gone_is_flagged(status):
    with pytest.raises(PbxCommandFailed) as info:
        await AriStasis(Link(status=status)).hangup("c1")
    assert info.value.details["gone"] is True


async def test_other_failures_are_not_gone_and_finished_playbacks_are_no_error():
    with pytest.raises(PbxCommandFailed) as info:
        await AriStasis(Link(status=500)).answer("c1")
    assert "gone" not in info.value.details
    await AriStasis(Link(status=404)).stop_playback("pb1")
