"""Record the ARI events the IVR consumes, from a real private Asterisk 22, into tests/traces/ari/.

    PYTHONPATH=. .venv/bin/python tests/traces/record_ari.py [--keep-going]

Starts a throw-away test instance (as the integration tests do: free ports, fresh secrets,
destroyed at the end), adds a dialplan context entering our Stasis application as the IVR
routes do (``Stasis(<app>,ivr,<script>,exten)``) and runs two calls through ccserver's own links
(`AmiLink`, `AriLink`, `AriStasis`), keeping the raw JSON of the first event of each type the
translation (`adapters/pbx/ari_translate.py`) handles:

1. a caller (a Local channel: ;2 enters Stasis, ;1 waits) is answered, hears ``sound:beep``
   (PlaybackFinished), presses 5 (AMI PlayDTMF on ;1: ChannelDtmfReceived on ;2) and hangs up
   (;1 hung up: ChannelHangupRequest, StasisEnd);
2. a second caller is hung up by ARI itself (DELETE /channels: ChannelHangupRequest,
   StasisEnd). Asterisk 22 sends no ChannelDestroyed for a channel that entered Stasis from the
   dialplan (the application follows it until StasisEnd only): the application subscribes to
   this channel explicitly to record one.

Each trace is ``<EventType>.json``; the translation tests (tests/unit/pbx/test_ari_traces.py)
read every file of the directory. Re-run after an Asterisk upgrade and review the diff.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import uuid
from pathlib import Path

from ccserver.adapters.pbx.ami import AmiLink
from ccserver.adapters.pbx.ari import AriLink
from ccserver.adapters.pbx.ari_translate import ARI_TRANSLATORS
from ccserver.adapters.pbx.stasis import AriStasis
from ccserver.core.ports import OriginateRequest
from tests.support.asterisk import start_test_instance

HERE = Path(__file__).resolve().parent / "ari"
CONTEXT = "trace-ivr"
logger = logging.getLogger("record_ari")


class RecordingAriLink(AriLink):
    """The real link, keeping every raw event before it is translated."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.raw: list[dict] = []

    async def _on_event(self, message: dict) -> None:
        self.raw.append(message)
        await super()._on_event(message)


async def wait_for(predicate, timeout: float, what: str):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        await asyncio.sleep(0.05)


def first(raw: list[dict], kind: str, channel_id: str | None = None) -> dict | None:
    for message in raw:
        if message.get("type") != kind:
            continue
        if channel_id is None:
            return message
        target = (message.get("playback") or {}).get("target_uri", "")
        if (message.get("channel") or {}).get("id") == channel_id or target == f"channel:{channel_id}":
            return message
    return None


async def call(ami: AmiLink, ari: RecordingAriLink, caller_id: str) -> dict:
    before = len(ari.raw)
    await ami.originate(
        OriginateRequest(channel=f"Local/s@{CONTEXT}", application="Wait", data="20", caller_id=caller_id)
    )
    return await wait_for(lambda: first(ari.raw[before:], "StasisStart"), 10, "StasisStart")


async def record(out: Path) -> dict[str, dict]:
    app = f"trace{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="ari-traces-") as tmp:
        instance = start_test_instance(Path(tmp))
        try:
            info = instance.info
            dialplan = info.instance_dir / "etc" / "dialplans" / f"zz-{CONTEXT}.conf"
            dialplan.write_text(f"[{CONTEXT}]\nexten => s,1,Stasis({app},ivr,demo,exten)\n same => n,Hangup()\n")
            instance.cli("dialplan reload")
            ami = AmiLink(
                host=info.ami_host,
                port=info.ami_port,
                username=info.ami_username,
                secret=info.ami_secret,
                submit=lambda event: None,
                node=info.name,
            )
            ari = RecordingAriLink(
                base_url=info.ari_url + "/",
                username=info.ari_username,
                password=info.ari_password,
                app=app,
                submit=lambda event: None,
                node=info.name,
            )
            stasis = AriStasis(ari)
            await ami.start()
            await ari.start()
            try:
                await wait_for(lambda: ami.is_up and ari.is_up, 15, "AMI and ARI up")
                # 1. answered, a prompt, a key, the caller hangs up
                start = await call(ami, ari, "0611111111")
                cid = start["channel"]["id"]
                leg1 = start["channel"]["name"][:-1] + "1"
                await stasis.answer(cid)
                await stasis.play(cid, ["sound:beep"], language="en", playback_id=f"pb-{cid}")
                await wait_for(lambda: first(ari.raw, "PlaybackFinished", cid), 10, "PlaybackFinished")
                await ami.play_dtmf(leg1, "5", 100)
                await wait_for(lambda: first(ari.raw, "ChannelDtmfReceived", cid), 10, "ChannelDtmfReceived")
                await ami.hangup(leg1)
                await wait_for(lambda: first(ari.raw, "StasisEnd", cid), 10, "StasisEnd")
                # 2. hung up by ARI
                second = await call(ami, ari, "0622222222")
                cid2 = second["channel"]["id"]
                # a channel that entered Stasis from the dialplan is followed until StasisEnd
                # only: Asterisk 22 sends no ChannelDestroyed for it (none in call 1). With the
                # application subscribed to the channel itself, it does.
                await ari.call("applications", "subscribe", applicationName=app, eventSource=f"channel:{cid2}")
                await stasis.hangup(cid2)
                await wait_for(lambda: first(ari.raw, "ChannelDestroyed", cid2), 10, "ChannelDestroyed")
                for message in ari.raw:
                    logger.info("seen %s %s", message.get("type"), (message.get("channel") or {}).get("name", ""))
            finally:
                await ari.stop()
                await ami.stop()
        finally:
            instance.destroy()
    traces: dict[str, dict] = {}
    for kind in ARI_TRANSLATORS:
        message = first(ari.raw, kind, cid) or first(ari.raw, kind, cid2)
        if message is None:
            logger.warning("Asterisk sent no %s in these calls", kind)
            continue
        traces[kind] = message
    out.mkdir(parents=True, exist_ok=True)
    for kind, message in traces.items():
        (out / f"{kind}.json").write_text(json.dumps(message, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return traces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    traces = asyncio.run(record(args.out))
    for kind in ARI_TRANSLATORS:
        print(f"{kind:22s} {'recorded' if kind in traces else 'NOT SENT'}")
    return 0 if len(traces) == len(ARI_TRANSLATORS) else 1


if __name__ == "__main__":
    sys.exit(main())
