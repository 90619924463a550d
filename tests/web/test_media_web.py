"""The media administration over HTTP: admins only, uploads converted or refused naming the
file, a queue's settings applied and shown, the page's forms reporting errors by field."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import soundfile
from aiohttp import FormData

from ccserver.adapters.asterisk.media_files import DirectoryMediaFiles
from ccserver.adapters.web.keys import RUNTIME
from ccserver.capabilities.acd.model import QueueDefinition
from tests.support.web import csrf_field
from tests.web.conftest import csrf_of, login


def wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    out = io.BytesIO()
    soundfile.write(out, 0.3 * np.sin(2 * math.pi * 440 * t), rate, format="WAV")
    return out.getvalue()


def upload(data: bytes, filename: str, **fields) -> FormData:
    form = FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("file", data, filename=filename, content_type="audio/wav")
    return form


async def prepared(web_app, tmp_path):
    runtime = web_app.app[RUNTIME]
    sounds = tmp_path / "sounds"
    for language in ("en", "fr"):
        (sounds / language).mkdir(parents=True)
    runtime.media.files = DirectoryMediaFiles(tmp_path / "media", "/ast/media", sounds)
    await runtime.acd.create_queue(QueueDefinition(name="support", holidays=""), actor="admin1")
    return runtime


async def test_an_admin_uploads_a_prompt_and_gives_it_to_a_queue(web_app, tmp_path):
    runtime = await prepared(web_app, tmp_path)
    client = await login(web_app, "admin1")
    token = await csrf_of(client)
    resp = await client.post(
        "/api/media/prompts",
        data=upload(wav(2.0), "Accueil.wav", language="fr"),
        headers={"X-CSRF-Token": token},
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert (body["language"], body["name"], body["duration_seconds"]) == ("fr", "accueil", 2.0)
    assert soundfile.info(str(tmp_path / "media/prompts/fr/accueil.wav")).samplerate == 8000

    resp = await client.put(
        "/api/media/queues/support",
        json={"language": "fr", "welcome_prompt": "accueil", "closed_days": ["2026-12-24"]},
        headers={"X-CSRF-Token": token},
    )
    assert resp.status == 200, await resp.text()
    overview = await (await client.get("/api/media")).json()
    assert overview["languages"] == ["en", "fr"]
    [queue] = overview["queues"]
    assert (queue["language"], queue["welcome_prompt"], queue["closed_days"]) == (
        "fr",
        "accueil",
        [{"day": "2026-12-24", "label": ""}],
    )
    resp = await client.get("/api/media/queues/support/open?at=2026-12-24T10:00:00%2B01:00")
    assert await resp.json() == {"queue": "support", "open": False, "reason": "closed_day", "label": ""}
    page = await (await client.get("/admin/media")).text()
    assert 'data-prompt="fr/accueil"' in page and 'value="fr"' in page

    # bad input: the error names the file or the field, nothing changes
    resp = await client.post(
        "/api/media/prompts",
        data=upload(b"not audio at all" * 50, "notes.wav", language="fr"),
        headers={"X-CSRF-Token": token},
    )
    assert resp.status == 400
    error = await resp.json()
    assert error["error"] == "invalid-input" and error["message"].startswith("notes.wav : pas un fichier WAV ou MP3")
    resp = await client.put("/api/media/queues/support", json={"language": "de"}, headers={"X-CSRF-Token": token})
    assert resp.status == 400 and "language" in (await resp.json())["message"]
    resp = await client.put(
        "/api/media/queues/support", json={"closed_days": "24/12/2026"}, headers={"X-CSRF-Token": token}
    )
    assert resp.status == 400 and "closed_days" in (await resp.json())["message"]
    resp = await client.delete("/api/media/prompts/fr/accueil", headers={"X-CSRF-Token": token})
    assert resp.status == 409  # the queue uses it
    assert [p.name for p in await runtime.media.prompts()] == ["accueil"]
    await client.close()


async def test_the_page_form_shows_the_error_naming_the_field(web_app, tmp_path):
    await prepared(web_app, tmp_path)
    client = await login(web_app, "admin1")
    token = csrf_field(await (await client.get("/admin/media")).text())
    resp = await client.post("/admin/media/prompts", data=upload(wav(), "texte.txt", language="fr", csrf_token=token))
    assert resp.status == 400
    page = await resp.text()
    assert "texte.txt : seuls les fichiers WAV ou MP3 peuvent être envoyés" in page and "<strong>file</strong>" in page
    resp = await client.post("/admin/media/moh", data={"name": "Jazz!", "csrf_token": token})
    assert resp.status == 400 and "<strong>name</strong>" in await resp.text()
    resp = await client.post("/admin/media/moh", data={"name": "jazz", "csrf_token": token})
    assert resp.status == 201 and 'data-class="jazz"' in await resp.text()
    resp = await client.post("/admin/media/queues/support", data={"music_class": "jazz", "csrf_token": token})
    assert resp.status == 200 and "File support : réglages appliqués" in await resp.text()
    await client.close()


@pytest.mark.parametrize("username", ["agent1", "supervisor1"])
async def test_only_admins_reach_media(web_app, username):
    client = await login(web_app, username)
    assert (await client.get("/api/media")).status == 403
    assert (await client.get("/admin/media")).status == 403
    token = await csrf_of(client)
    resp = await client.put("/api/media/queues/support", json={"language": "fr"}, headers={"X-CSRF-Token": token})
    assert resp.status == 403
    await client.close()


async def test_without_a_media_directory_uploads_say_which_setting_to_set(web_app):
    client = await login(web_app, "admin1")
    token = await csrf_of(client)
    resp = await client.post(
        "/api/media/prompts", data=upload(wav(), "a.wav", language="fr"), headers={"X-CSRF-Token": token}
    )
    assert resp.status == 409
    assert (await resp.json())["error"] == "no-media-directory"
    await client.close()
