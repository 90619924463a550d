"""The media repository on SQLite and PostgreSQL, and the media service over it (with a fake
Asterisk directory): prompts replaced in place, music classes with their files, a queue's
settings validated, audited with before and after, and kept across a restart."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
import soundfile

from ccserver.adapters.asterisk.media_files import DirectoryMediaFiles
from ccserver.adapters.audio import SoundfileConverter
from ccserver.adapters.db import AuditLog
from ccserver.adapters.db.media import MediaRepository
from ccserver.capabilities.media.errors import MediaInUse, NoMediaDirectory, NoSuchMusicClass
from ccserver.capabilities.media.model import ClosedDay, MediaFile, QueueMedia
from ccserver.capabilities.media.service import MediaService
from ccserver.core.clock import ManualClock
from ccserver.core.errors import Conflict, InvalidInput

NOW = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)


def test_prompts_classes_and_queue_settings_round_trip(database):
    repo = MediaRepository(database)
    repo.save_prompt(MediaFile("fr", "accueil", 2500, 40044, "Accueil.mp3", "admin1", NOW))
    repo.save_prompt(MediaFile("fr", "accueil", 3000, 48044, "Accueil v2.wav", "admin2", NOW))  # replaced
    repo.save_prompt(MediaFile("en", "accueil", 2000, 32044, "Welcome.wav", "admin1", NOW))
    assert [(p.group, p.name, p.duration_ms, p.uploaded_by) for p in repo.prompts()] == [
        ("en", "accueil", 2000, "admin1"),
        ("fr", "accueil", 3000, "admin2"),
    ]
    assert repo.prompts()[1].uploaded_at == NOW
    assert repo.delete_prompt("en", "accueil") is True and repo.delete_prompt("en", "accueil") is False

    repo.create_music_class("jazz", "admin1")
    with pytest.raises(Conflict):
        repo.create_music_class("jazz", "admin1")
    repo.save_music_file(MediaFile("jazz", "morceau", 60000, 960044, "m.mp3", "admin1", NOW))
    with pytest.raises(NoSuchMusicClass):
        repo.save_music_file(MediaFile("rock", "x", 1, 1, "x.wav", "admin1", NOW))
    assert [(c, [m.name for m in files]) for c, files in repo.music_classes().items()] == [("jazz", ["morceau"])]
    assert repo.delete_music_class("jazz") is True  # its files with it
    assert repo.music_classes() == {}

    settings = QueueMedia(
        "support", "fr", "", "accueil", "", (ClosedDay(date(2026, 12, 24), "Veille de Noël"),), "admin1", NOW
    )
    repo.save_queue_media(settings)
    assert repo.queue_media() == {"support": settings}
    repo.save_queue_media(QueueMedia("support", "en", updated_by="admin2", updated_at=NOW))
    assert repo.queue_media()["support"].closed_days == () and repo.queue_media()["support"].language == "en"


def _wav(seconds: float) -> bytes:
    t = np.arange(int(22050 * seconds)) / 22050
    out = io.BytesIO()
    soundfile.write(out, 0.3 * np.sin(2 * math.pi * 330 * t), 22050, format="WAV")
    return out.getvalue()


class _Calendar:
    timezone, hours, holidays = "Europe/Paris", {}, "FR"


@pytest.fixture
def service_of(database, tmp_path):
    sounds = tmp_path / "sounds"
    for language in ("en", "fr"):
        (sounds / language).mkdir(parents=True)
    applied = []

    async def apply_queues():
        applied.append(True)

    async def queue_names():
        return ["support", "ventes"]

    async def calendar(name):
        return _Calendar()

    def make(files=True):
        return MediaService(
            MediaRepository(database),
            AuditLog(database),
            ManualClock(NOW),
            converter=SoundfileConverter(),
            files=DirectoryMediaFiles(tmp_path / "media", "/inside/media", sounds) if files else None,
            default_language="fr",
            apply_queues=apply_queues,
            queue_names=queue_names,
            queue_calendar=calendar,
        ), applied

    return make


async def test_the_service_converts_stores_audits_and_applies(service_of, database, tmp_path):
    service, applied = service_of()
    assert service.languages() == ["en", "fr"]
    prompt = await service.add_prompt("fr", "", "Fermé Noël.wav", _wav(1.5), "admin1")
    assert (prompt.group, prompt.name, prompt.duration_ms) == ("fr", "ferme-noel", 1500)
    stored = tmp_path / "media" / "prompts" / "fr" / "ferme-noel.wav"
    assert soundfile.info(str(stored)).samplerate == 8000

    with pytest.raises(InvalidInput, match="language: Asterisk has no sounds in 'de'"):
        await service.add_prompt("de", "x", "x.wav", _wav(1), "admin1")
    with pytest.raises(InvalidInput, match=r"^bad\.mp3: not a WAV or MP3"):
        await service.add_prompt("fr", "x", "bad.mp3", b"ID3 not really an mp3" * 10, "admin1")
    assert [p.name for p in await service.prompts()] == ["ferme-noel"]  # the bad ones changed nothing

    updated = await service.set_queue_media(
        "support", {"closed_prompt": "ferme-noel", "closed_days": "2026-12-24 Veille de Noël"}, "admin1"
    )
    assert updated.closed_days == (ClosedDay(date(2026, 12, 24), "Veille de Noël"),) and applied == [True]
    with pytest.raises(InvalidInput, match="closed_prompt: no prompt 'ferme-noel' in 'en'"):
        await service.set_queue_media("support", {"language": "en"}, "admin1")
    with pytest.raises(InvalidInput, match="queue: no queue 'nope'"):
        await service.set_queue_media("nope", {"language": "fr"}, "admin1")
    with pytest.raises(MediaInUse, match="support \\(closed_prompt\\)"):
        await service.remove_prompt("fr", "ferme-noel", "admin1")

    [entry] = AuditLog(database).list(action="queue.media_update")
    details = json.loads(entry.details)
    assert (entry.actor, entry.target) == ("admin1", "support")
    assert details["before"]["closed_prompt"] == "" and details["after"]["closed_prompt"] == "ferme-noel"
    assert details["after"]["closed_days"] == [{"day": "2026-12-24", "label": "Veille de Noël"}]
    assert [e.target for e in AuditLog(database).list(action="prompt.add")] == ["fr/ferme-noel"]

    state = await service.open_state("support", datetime(2026, 12, 24, 10, 0, tzinfo=UTC))
    assert (state.open, state.reason, state.label) == (False, "closed_day", "Veille de Noël")
    assert (await service.open_state("support", datetime(2026, 12, 25, 10, 0, tzinfo=UTC))).reason == "holiday"

    # a new service over the same database (a restart) knows the same settings
    again, _ = service_of()
    config = await again.config()
    assert config.language_of("support") == "fr" and config.prompt("ferme-noel") == "/inside/media/prompts/ferme-noel"


async def test_music_classes_and_no_media_directory(service_of):
    service, _ = service_of()
    await service.create_music_class("calme", "admin1")
    await service.add_music_file("calme", "", "Piano.wav", _wav(2), "admin1")
    await service.set_queue_media("ventes", {"music_class": "calme"}, "admin1")
    with pytest.raises(MediaInUse, match="used by ventes"):
        await service.remove_music_class("calme", "admin1")
    with pytest.raises(InvalidInput, match="music_class: no music on hold class 'rock'"):
        await service.set_queue_media("ventes", {"music_class": "rock"}, "admin1")
    with pytest.raises(Conflict):
        await service.create_music_class("default", "admin1")

    without, _ = service_of(files=False)
    with pytest.raises(NoMediaDirectory, match="asterisk.media_dir"):
        await without.add_prompt("fr", "x", "x.wav", _wav(1), "admin1")


async def test_a_queue_setting_asterisk_refuses_leaves_the_old_one(service_of):
    from ccserver.core.errors import PbxCommandFailed

    service, applied = service_of()
    await service.set_queue_media("support", {"language": "en"}, "admin1")
    calls = []

    async def refusing():
        calls.append(True)
        if len(calls) == 1:
            raise PbxCommandFailed("Reload failed")

    service.apply_queues = refusing
    with pytest.raises(PbxCommandFailed):
        await service.set_queue_media("support", {"language": "fr"}, "admin1")
    assert (await service.queue_media())["support"].language == "en"
    assert len(calls) == 2  # the old settings applied again
