"""A French call center hears French, on the real Asterisk: the queue's language reaches the
caller's channel, the French core sounds are played (told from the English ones by their length),
an uploaded prompt (converted) is played as the closed message on a closed day and the call is
recorded as closed; music on hold classes are loaded live."""

from __future__ import annotations

import asyncio
import io
import math
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import soundfile

from ccserver.capabilities.acd.model import QueueDefinition
from tests.support.server import Server, endpoint_of, until
from tests.support.sipp import SippCaller

pytestmark = pytest.mark.asterisk

SOUNDS = "usr/share/asterisk/sounds"


def gsm_seconds(asterisk, language_dir: str, name: str) -> float:
    """Length of a core sound (GSM 6.10: 33 bytes per 20 ms)."""
    return (asterisk.environment.root / SOUNDS / language_dir / f"{name}.gsm").stat().st_size / 33 * 0.02


def tone_wav(seconds: float, rate: int = 44100, channels: int = 2) -> bytes:
    """A WAV as an admin's recorder makes it (44.1 kHz stereo): not what Asterisk plays."""
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * math.pi * 440 * t)
    out = io.BytesIO()
    soundfile.write(out, np.stack([mono] * channels, axis=1), rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


async def make_queue(srv: Server, name: str, number: str, **fields) -> None:
    rt = srv.runtime
    await until(srv.ok, 15)
    await rt.acd.create_queue(
        QueueDefinition(name=name, numbers=(number,), holidays="", ring_seconds=10, **fields), actor="admin"
    )


def today_in_paris() -> str:
    return datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()


async def test_a_closed_french_queue_plays_the_french_sound_and_records_the_call_as_closed(asterisk, tmp_path):
    """queue-youarenext lasts 5.4 s in English, 2.9 s in French: the call's length says which
    one Asterisk played (it hangs up after the closed message)."""
    english = gsm_seconds(asterisk, "en_US_f_Allison", "queue-youarenext")
    french = gsm_seconds(asterisk, "fr_CA_f_June", "queue-youarenext")
    assert english - french > 2
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, asterisk={"language": "fr"}) as srv:
        rt = srv.runtime
        await make_queue(srv, "fermee", "4301", closed_message="queue-youarenext")
        assert "fr" in await rt.media.installed_languages()
        await rt.media.set_queue_media("fermee", {"closed_days": f"{today_in_paris()} Inventaire"}, "admin")

        caller = SippCaller(asterisk, "4301", caller="0611111111", max_seconds=30)
        await caller.start()
        result = await caller.wait(timeout=40)

        assert result.answered and result.ended_by == "remote"
        assert abs(result.duration - french) < 1.0, (result.duration, french, english)
        await until(lambda: any(r.outcome == "closed" for r in rt.acd_repo.calls(queue="fermee")), 10)
        [row] = rt.acd_repo.calls(queue="fermee")
        assert (row.outcome, row.caller_number) == ("closed", "0611111111")

        # the same queue in English (the language is per queue): the English file, longer
        await rt.media.set_queue_media("fermee", {"language": "en"}, "admin")
        caller = SippCaller(asterisk, "4301", caller="0622222222", max_seconds=30)
        await caller.start()
        result = await caller.wait(timeout=40)
        assert abs(result.duration - english) < 1.0, (result.duration, english)


async def test_a_waiting_caller_of_a_french_queue_has_the_french_channel_language(asterisk, tmp_path):
    """The queue's announcements (position, hold time) are played in the channel's language."""
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, asterisk={"language": "en"}) as srv:
        rt = srv.runtime
        await make_queue(srv, "attente-fr", "4302")
        await rt.media.set_queue_media("attente-fr", {"language": "fr"}, "admin")
        caller = SippCaller(asterisk, "4302", caller="0633333333", talk_seconds=6, max_seconds=25)
        await caller.start()
        try:
            await until(lambda: any(r.queue == "attente-fr" for r in rt.call_tracker.open.values()), 15)
            channel = next(r.channel for r in rt.call_tracker.open.values() if r.queue == "attente-fr")
            answer = await rt.pbx.ami.send({"Action": "Getvar", "Channel": channel, "Variable": "CHANNEL(language)"})
            assert answer.get("value") == "fr", answer
        finally:
            await caller.wait(timeout=40)


async def test_an_uploaded_prompt_is_converted_and_played_as_the_closed_message(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk, asterisk={"language": "fr"}) as srv:
        rt = srv.runtime
        await make_queue(srv, "annonce", "4303")
        prompt = await rt.media.add_prompt("fr", "fermeture-test", "Fermeture.wav", tone_wav(3.0), "admin")
        assert abs(prompt.duration_ms - 3000) < 50
        stored = asterisk.instance_dir / "media" / "prompts" / "fr" / "fermeture-test.wav"
        info = soundfile.info(str(stored))
        assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
        await rt.media.set_queue_media(
            "annonce", {"closed_prompt": "fermeture-test", "closed_days": [today_in_paris()]}, "admin"
        )
        caller = SippCaller(asterisk, "4303", caller="0644444444", max_seconds=30)
        await caller.start()
        result = await caller.wait(timeout=40)
        assert result.answered and abs(result.duration - 3.0) < 1.0, result.duration


async def test_a_music_class_is_loaded_live_and_assigned_to_a_queue(asterisk, tmp_path):
    async with Server(tmp_path, endpoint_of(asterisk.info), config_writer=asterisk) as srv:
        rt = srv.runtime
        await make_queue(srv, "musique", "4304")
        await rt.media.create_music_class("jazz-test", "admin")
        await rt.media.add_music_file("jazz-test", "", "Morceau 1.wav", tone_wav(4.0), "admin")
        await rt.media.set_queue_media("musique", {"music_class": "jazz-test"}, "admin")

        classes = await asyncio.to_thread(asterisk.cli, "moh show classes")
        assert "Class: jazz-test" in classes, classes
        files = await asyncio.to_thread(asterisk.cli, "moh show files")
        assert "morceau-1.wav" in files or "morceau-1" in files, files
        queues = (asterisk.instance_dir / "etc" / "queues_generated.conf").read_text()
        assert "[musique]" in queues and "musicclass = jazz-test" in queues.split("[musique]")[1].split("\n\n")[0]

        await rt.media.set_queue_media("musique", {"music_class": ""}, "admin")
        await rt.media.remove_music_class("jazz-test", "admin")
        classes = await asyncio.to_thread(asterisk.cli, "moh show classes")
        assert "Class: jazz-test" not in classes


async def test_a_french_campaign_plays_its_abandon_message_in_french(asterisk, tmp_path):
    """No agent takes the answered call: the abandon message (queue-youarenext here: 2.9 s in
    French, 5.4 s in English) is played in the campaign's language, then Asterisk hangs up."""
    from tests.integration.test_outbound_dialer import ANSWERS, OPEN_CONSENT_REGIME, Center
    from tests.support.sipp import Answer

    french = gsm_seconds(asterisk, "fr_CA_f_June", "queue-youarenext")
    english = gsm_seconds(asterisk, "en_US_f_Allison", "queue-youarenext")
    customers = {ANSWERS: Answer(ring_seconds=0.2, talk_seconds=None)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        with pytest.raises(Exception, match="language"):
            await center.campaign([ANSWERS], language="xx")
        cid = await center.campaign([ANSWERS], language="fr", abandon_message="queue-youarenext")
        assert (await center.service.campaigns.campaign(cid))["language"] == "fr"
        await center.phone.stop()  # nobody takes the answered call
        board = center.runtime.agent_board
        await until(lambda: not board.agents[center.agent].phone_reachable, 10)
        board.agents[center.agent].phone_reachable = True  # as if the board had not noticed
        await center.service.campaigns.change_status(cid, "start", "super1")
        (ended,) = await center.customer.wait_calls("hungup", 1, timeout=30)
        waited = ended.duration - french  # the queue's wait before the message
        assert ended.ended_by == "remote"
        print(f"campaign call {ended.duration:.2f} s: queue wait {waited:.2f} s + French message {french:.2f} s")
        assert 1.0 < waited < 3.5, (ended.duration, french, english)


async def channel_names(asterisk) -> set[str]:
    listing = await asyncio.to_thread(asterisk.cli, "core show channels concise")
    return {line.split("!", 1)[0] for line in listing.splitlines() if "!" in line}


async def channel_languages(asterisk, ami, leave_out: set[str] = frozenset()) -> dict[str, str]:
    """The language of every channel up on Asterisk (AMI Getvar CHANNEL(language)) but those of
    `leave_out`: the channels up before this test's call (the session's Asterisk is shared)."""
    out = {}
    for name in sorted(await channel_names(asterisk) - leave_out):
        answer = await ami.send({"Action": "Getvar", "Channel": name, "Variable": "CHANNEL(language)"})
        if answer.get("response") == "Success":
            out[name] = answer.get("value")
    return out


async def test_both_legs_of_a_progressive_campaign_call_speak_the_campaigns_language(asterisk, tmp_path):
    """The customer's channel and the agent's (the queue member) take the campaign's language,
    while the server's default language is English."""
    from ccserver.core import events as ev
    from tests.integration.test_outbound_dialer import ANSWERS, OPEN_CONSENT_REGIME, Center
    from tests.support.sipp import Answer

    customers = {ANSWERS: Answer(ring_seconds=0.2, talk_seconds=8)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        cid = await center.campaign([ANSWERS], language="fr")
        before = await channel_names(asterisk)
        await center.service.campaigns.change_status(cid, "start", "super1")
        await until(
            lambda: any(isinstance(e, ev.AgentConnected) and e.queue == f"camp-{cid}" for e in center.events),
            15,
            "the customer bridged to the agent",
        )
        agent_account = await asyncio.to_thread(center.runtime.acd.repo.agent, center.agent)
        languages = await channel_languages(asterisk, center.runtime.pbx.ami, before)
        agent_legs = {n: lang for n, lang in languages.items() if agent_account.sip_username in n}
        customer_legs = {n: lang for n, lang in languages.items() if n not in agent_legs}
        assert agent_legs and customer_legs, languages
        assert set(languages.values()) == {"fr"}, languages


async def test_both_legs_of_a_preview_campaign_call_speak_the_campaigns_language(asterisk, tmp_path):
    from datetime import timedelta

    from tests.integration.test_outbound_dialer import ANSWERS, OPEN_CONSENT_REGIME, Center
    from tests.support.sipp import Answer

    customers = {ANSWERS: Answer(ring_seconds=0.3, talk_seconds=8)}
    async with Center(asterisk, tmp_path, OPEN_CONSENT_REGIME, customers) as center:
        service = center.service
        campaign = await service.campaigns.create_campaign(
            "Preview fr", {"mode": "preview", "caller_ids": ["0162000001"], "language": "fr"}, "super1"
        )
        cid = campaign["id"]
        preview = await service.campaigns.preview_import(
            cid, f"numero;nom\n{ANSWERS};Mme Preview\n".encode(), "p.csv", "utf-8", "super1"
        )
        await service.campaigns.commit_import(preview["import_id"], "super1")
        await service.oppositions.record_consent(
            number=ANSWERS, source="web", proof_ref="P-1", actor="super1", at=center.clock.now() - timedelta(days=1)
        )
        await service.campaigns.set_agents(cid, [center.agent], "super1")
        await service.campaigns.change_status(cid, "start", "super1")
        client = await center.login(center.agent)
        me = await (await client.get("/api/me")).json()
        headers = {"X-CSRF-Token": me["csrf_token"]}
        found = await (await client.post("/api/outbound/preview/next", headers=headers)).json()
        before = await channel_names(asterisk)
        resp = await client.post(f"/api/outbound/preview/{found['contact']['id']}/dial", headers=headers)
        assert resp.status == 201, await resp.text()
        await center.phone.wait_calls("answered", 1, timeout=10)
        await center.customer.wait_calls("answered", 1, timeout=10)
        # the customer's answer runs the U() subroutine, then the two are bridged
        agent_account = await asyncio.to_thread(center.runtime.acd.repo.agent, center.agent)

        async def both_french():
            languages = await channel_languages(asterisk, center.runtime.pbx.ami, before)
            legs = [n for n in languages if agent_account.sip_username not in n]
            return len(languages) >= 2 and legs and set(languages.values()) == {"fr"} and languages

        languages = await until(both_french, 10, "both legs in French")
        print(languages)
