"""`StasisCommands` over the ARI link (aioari): the commands the IVR engine issues on channels
in our Stasis application.

Every call goes through `AriLink.call` (a timeout, no replay, errors as PbxUnavailable /
PbxTimeout / PbxCommandFailed). Ids, names, contexts and media are refused when they hold a
control character; in a variable's value, CR/LF (an exception text, a caller's input) become
spaces. A channel that no longer exists (404) or is no longer in Stasis (409) is reported as
PbxCommandFailed with ``details["gone"] = True``; stopping a playback that finished already is
not an error.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from ...core.errors import InvalidInput, PbxCommandFailed
from .ari import AriLink

logger = logging.getLogger(__name__)
# aioari logs "No mapping for Variable; returning JSON" at INFO for every getChannelVar
logging.getLogger("aioari.model").setLevel(logging.WARNING)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def _arg(name: str, value: Any) -> str:
    text = str(value)
    if _CONTROL.search(text):
        raise InvalidInput(f"ARI argument {name} contains a control character", field=name)
    return text


def _field(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    json_ = getattr(value, "json", None)
    if isinstance(json_, dict):
        return json_.get(name)
    return getattr(value, name, None)


class AriStasis:
    """The IVR's `StasisCommands` on one ARI link."""

    def __init__(self, link: AriLink) -> None:
        self.link = link

    async def _channel_call(self, operation: str, channel_id: str, **params: Any) -> Any:
        try:
            return await self.link.call("channels", operation, channelId=_arg("channel_id", channel_id), **params)
        except PbxCommandFailed as exc:
            if exc.details.get("status") in (404, 409):
                exc.details["gone"] = True
            raise

    async def answer(self, channel_id: str) -> None:
        await self._channel_call("answer", channel_id)

    async def play(self, channel_id: str, media: list[str], *, language: str = "", playback_id: str = "") -> str:
        params: dict[str, Any] = {"media": _arg("media", ",".join(media))}
        if language:
            params["lang"] = _arg("language", language)
        if playback_id:
            params["playbackId"] = _arg("playback_id", playback_id)
        result = await self._channel_call("play", channel_id, **params)
        return str(_field(result, "id") or playback_id)

    async def stop_playback(self, playback_id: str) -> None:
        try:
            await self.link.call("playbacks", "stop", playbackId=_arg("playback_id", playback_id))
        except PbxCommandFailed as exc:
            if exc.details.get("status") != 404:  # 404: it had finished already
                raise

    async def hangup(self, channel_id: str) -> None:
        await self._channel_call("hangup", channel_id)

    async def continue_in_dialplan(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        await self._channel_call(
            "continueInDialplan",
            channel_id,
            context=_arg("context", context),
            extension=_arg("exten", exten),
            priority=int(priority),
        )

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self._channel_call(
            "setChannelVar", channel_id, variable=_arg("name", name), value=_LINE_BREAKS.sub(" ", str(value))
        )

    async def get_variable(self, channel_id: str, name: str) -> str:
        found = await self._channel_call("getChannelVar", channel_id, variable=_arg("name", name))
        value = _field(found, "value")
        return "" if value is None else str(value)

    async def app_channels(self) -> set[str]:
        app = await self.link.call("applications", "get", applicationName=self.link.app)
        return set(_field(app, "channel_ids") or ())
