"""Media rules: languages, names, uploads, closed days, and whether a queue is open at an instant
(Europe/Paris, across the DST changes), with the clock injected."""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import soundfile

from ccserver.adapters.audio import SoundfileConverter
from ccserver.capabilities.acd.model import QueueDefinition, render_acd_dialplan, render_queues
from ccserver.capabilities.media.model import (
    ClosedDay,
    MediaConfig,
    QueueMedia,
    check_language,
    check_upload,
    name_from_filename,
    open_state,
    parse_closed_days,
    render_musiconhold,
    validate_queue_media,
)
from ccserver.core.errors import InvalidInput

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = {"mon-fri": "08:00-12:00, 13:30-18:00", "sat": "09:00-12:00"}


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# --- languages, names, uploads -------------------------------------------------------------------


def test_a_language_must_be_installed_and_the_error_names_the_field_and_what_is():
    assert check_language("fr", ["en", "fr"]) == "fr"
    assert check_language("", []) == ""  # the default
    with pytest.raises(InvalidInput) as info:
        check_language("de", ["en", "fr"])
    assert info.value.details["field"] == "language" and "installed: en, fr" in info.value.message
    with pytest.raises(InvalidInput, match="not a language code"):
        check_language("fr/../../etc", ["fr"])


@pytest.mark.parametrize(
    ("filename", "size", "message"),
    [
        ("notes.txt", 100, "notes.txt: only WAV or MP3"),
        ("empty.wav", 0, "empty.wav: the file is empty"),
        ("huge.mp3", 17 * 1024 * 1024, "huge.mp3: 17.0 MB is too big"),
        ("", 10, "(no file name): only WAV or MP3"),
    ],
)
def test_an_upload_that_cannot_be_a_prompt_is_refused_naming_the_file(filename, size, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        check_upload(filename, size)
    assert info.value.details["field"] == "file"


def test_a_name_comes_from_the_file_name():
    assert name_from_filename("Accueil Noël.MP3") == "accueil-noel"
    assert name_from_filename("C:\\Users\\x\\Fermé (été).wav") == "ferme-ete"


def test_closed_days_parse_text_and_json_and_name_the_bad_entry():
    assert parse_closed_days("2026-12-24 Veille de Noël\n\n2026-08-14") == (
        ClosedDay(date(2026, 8, 14)),
        ClosedDay(date(2026, 12, 24), "Veille de Noël"),
    )
    assert parse_closed_days([{"day": "2026-12-31", "label": "Inventaire"}]) == (
        ClosedDay(date(2026, 12, 31), "Inventaire"),
    )
    with pytest.raises(InvalidInput, match=r"'2026-13-01' \(entry 2\)") as info:
        parse_closed_days("2026-12-24\n2026-13-01")
    assert info.value.details["field"] == "closed_days"


def test_a_queue_may_only_use_prompts_of_its_language_and_existing_classes():
    ok = QueueMedia("support", language="fr", music_class="jazz", closed_prompt="ferme")
    validate_queue_media(ok, languages=["fr"], music_classes=["jazz"], prompts=[("fr", "ferme")], default_language="en")
    with pytest.raises(InvalidInput, match="closed_prompt: no prompt 'ferme' in 'en'"):
        validate_queue_media(
            QueueMedia("support", closed_prompt="ferme"),
            languages=["fr", "en"],
            music_classes=[],
            prompts=[("fr", "ferme")],
            default_language="en",
        )
    with pytest.raises(InvalidInput, match="music_class: no music on hold class 'rock'"):
        validate_queue_media(
            QueueMedia("support", music_class="rock"), languages=[], music_classes=[], prompts=[], default_language=""
        )


# --- open or closed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "is_open", "reason"),
    [
        (paris(2026, 3, 2, 7, 59), False, "hours"),  # a Monday, before opening
        (paris(2026, 3, 2, 8, 0), True, ""),
        (paris(2026, 3, 2, 11, 59), True, ""),
        (paris(2026, 3, 2, 12, 0), False, "hours"),  # lunch: the end is excluded
        (paris(2026, 3, 2, 13, 30), True, ""),
        (paris(2026, 3, 2, 17, 59), True, ""),
        (paris(2026, 3, 2, 18, 0), False, "hours"),
        (paris(2026, 3, 7, 10, 0), True, ""),  # Saturday morning
        (paris(2026, 3, 7, 13, 0), False, "hours"),
        (paris(2026, 3, 8, 10, 0), False, "hours"),  # Sunday
        (paris(2026, 5, 1, 10, 0), False, "holiday"),  # Fête du Travail, a Friday
        (paris(2026, 7, 14, 10, 0), False, "holiday"),
        (paris(2026, 12, 25, 10, 0), False, "holiday"),
        (paris(2026, 12, 24, 10, 0), False, "closed_day"),  # the admin's own
        (paris(2026, 12, 23, 10, 0), True, ""),
    ],
)
def test_open_state_every_case_of_a_week(at, is_open, reason):
    state = open_state(at, hours=WEEKDAYS, holidays="FR", closed_days=[ClosedDay(date(2026, 12, 24), "Veille de Noël")])
    assert (state.open, state.reason) == (is_open, reason)


def test_open_state_judges_in_paris_time_across_daylight_saving_changes():
    # 2026-03-29 02:00 Paris jumps to 03:00 (UTC+1 -> UTC+2); 2026-10-25 03:00 back to 02:00
    hours = {"mon-sun": "08:00-18:00"}
    # 07:30 UTC is 08:30 in summer (open) but 07:30... on 28 March (winter: 08:30 too, UTC+1)
    assert open_state(datetime(2026, 3, 28, 6, 59, tzinfo=UTC), hours=hours).open is False  # 07:59 CET
    assert open_state(datetime(2026, 3, 28, 7, 0, tzinfo=UTC), hours=hours).open is True  # 08:00 CET
    assert open_state(datetime(2026, 3, 30, 5, 59, tzinfo=UTC), hours=hours).open is False  # 07:59 CEST
    assert open_state(datetime(2026, 3, 30, 6, 0, tzinfo=UTC), hours=hours).open is True  # 08:00 CEST
    assert open_state(datetime(2026, 10, 26, 6, 59, tzinfo=UTC), hours=hours).open is False  # 07:59 CET again
    assert open_state(datetime(2026, 10, 26, 7, 0, tzinfo=UTC), hours=hours).open is True
    # a closed day is a Paris day: 23:30 UTC on the 23rd is already the 24th in Paris
    closed = [ClosedDay(date(2026, 12, 24))]
    assert open_state(datetime(2026, 12, 23, 23, 30, tzinfo=UTC), closed_days=closed).reason == "closed_day"
    assert open_state(datetime(2026, 12, 23, 22, 30, tzinfo=UTC), closed_days=closed).open is True


def test_an_hour_by_hour_sweep_of_a_year_matches_the_rule_written_another_way():
    """Every hour of 2026: open exactly when it is a Paris working slot, not a holiday, not closed."""
    import holidays as holidays_library

    france = holidays_library.country_holidays("FR", years=[2026])
    closed = [ClosedDay(date(2026, 8, 14))]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    while at.year == 2026:
        local = at.astimezone(PARIS)
        minutes = local.hour * 60 + local.minute
        expected = (
            local.date() != date(2026, 8, 14)
            and local.date() not in france
            and (
                (local.weekday() < 5 and (480 <= minutes < 720 or 810 <= minutes < 1080))
                or (local.weekday() == 5 and 540 <= minutes < 720)
            )
        )
        assert open_state(at, hours=WEEKDAYS, holidays="FR", closed_days=closed).open is expected, local
        at += timedelta(minutes=30)


def test_alsace_moselle_has_two_more_holidays():
    good_friday = paris(2026, 4, 3, 10, 0)
    assert open_state(good_friday, holidays="FR").open is True
    state = open_state(good_friday, holidays="FR-57")
    assert (state.open, state.reason) == (False, "holiday")
    assert open_state(paris(2026, 12, 26, 10, 0), holidays="FR-57").reason == "holiday"


def test_open_state_refuses_a_naive_time():
    with pytest.raises(ValueError):
        open_state(datetime(2026, 1, 1, 10, 0))


# --- Asterisk configuration ----------------------------------------------------------------------


def test_a_french_queue_sets_the_channel_language_and_closes_on_its_closed_days():
    queue = QueueDefinition(name="support", numbers=("4100",), holidays="")
    media = MediaConfig(
        {
            "support": QueueMedia(
                "support",
                language="fr",
                music_class="jazz",
                welcome_prompt="bienvenue",
                closed_prompt="ferme",
                closed_days=(ClosedDay(date(2026, 12, 24), "Veille; de Noël"),),
            )
        },
        default_language="en",
        media_dir="/srv/ccserver/x/media",
    )
    plan = render_acd_dialplan([queue], [2026, 2027], media=media)
    context = plan.split("[ccq-support]")[1]
    assert " same => n,Set(CHANNEL(language)=fr)" in context
    assert " same => n,GotoIfTime(*,*,24,dec,Europe/Paris?closed,1) ; 2026-12-24 closed day Veille de Noël" in context
    assert " same => n,Playback(/srv/ccserver/x/media/prompts/bienvenue)" in context
    assert "exten => closed,1,UserEvent(CcsClosed,Queue: support)" in context
    assert " same => n,Playback(/srv/ccserver/x/media/prompts/ferme)" in context
    assert "musicclass = jazz" in render_queues([queue], media)
    # a queue without settings takes the default language, the default music, 'sorry'
    other = render_acd_dialplan([QueueDefinition(name="ventes", holidays="")], [2026], media=media)
    assert "Set(CHANNEL(language)=en)" in other and "Playback(sorry)" in other
    assert "musicclass = default" in render_queues([QueueDefinition(name="ventes")], media)


def test_music_classes_render_one_files_class_each_but_the_builtin():
    text = render_musiconhold(["jazz", "default", "calme"], "/m")
    assert "[calme]\nmode = files\ndirectory = /m/moh/calme" in text
    assert "[jazz]" in text and "[default]" not in text


# --- conversion ----------------------------------------------------------------------------------


def _audio(rate: int, channels: int, seconds: float, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * math.pi * 440 * t)
    out = io.BytesIO()
    soundfile.write(out, np.stack([wave] * channels, axis=1), rate, format=fmt, subtype=subtype)
    return out.getvalue()


@pytest.mark.parametrize(
    ("rate", "channels", "fmt", "subtype"),
    [(44100, 2, "WAV", "PCM_16"), (48000, 1, "WAV", "FLOAT"), (16000, 1, "WAV", "PCM_24"), (44100, 2, "MP3", None)],
)
def test_wav_and_mp3_become_8khz_mono_16bit_of_the_same_length(rate, channels, fmt, subtype):
    data = _audio(rate, channels, 2.0, fmt, subtype or "MPEG_LAYER_III")
    converted = SoundfileConverter().convert("in." + fmt.lower(), data, 300)
    info = soundfile.info(io.BytesIO(converted.wav))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (8000, 1, "PCM_16", "WAV")
    assert abs(converted.seconds - 2.0) < 0.1
    samples, _ = soundfile.read(io.BytesIO(converted.wav))
    assert 0.25 < np.sqrt(np.mean(samples**2)) < 0.45  # the tone is still there (0.5 peak: 0.35 RMS)


def test_what_is_not_audio_or_too_long_is_refused_naming_the_file():
    with pytest.raises(
        InvalidInput, match=r"^notes\.wav: not a WAV or MP3 file that can be read \(Format not recognised"
    ):
        SoundfileConverter().convert("notes.wav", b"RIFF but not really a wave file at all", 300)
    with pytest.raises(InvalidInput, match=r"^long\.wav: 12 s is too long \(at most 10 s\)"):
        SoundfileConverter().convert("long.wav", _audio(8000, 1, 12.0), 10)


def test_an_ivr_script_may_name_an_uploaded_prompt_by_its_path_in_any_language(tmp_path):
    """sound:<media>/prompts/NAME: Asterisk inserts the call's language (<media>/prompts/fr/NAME);
    the IVR's prompt check finds it there, inside the chroot root."""
    from ccserver.capabilities.ivr.service import asterisk_prompt_checker

    root = tmp_path / "root"
    (root / "usr/share/asterisk/sounds/en").mkdir(parents=True)
    (root / "srv/ccserver/demo/media/prompts/fr").mkdir(parents=True)
    (root / "srv/ccserver/demo/media/prompts/fr/accueil.wav").write_bytes(b"x")
    exists = asterisk_prompt_checker("/usr/share/asterisk/sounds", None, root)
    assert exists("sound:/srv/ccserver/demo/media/prompts/accueil")
    assert not exists("sound:/srv/ccserver/demo/media/prompts/absent")
