"""Media rules, pure (no I/O): languages, prompt and music-on-hold names, upload limits, each
queue's media settings, whether a queue is open at a given instant (opening hours, public
holidays, closed days), and the Asterisk configuration lines these give.

A caller's language is the channel's (CHANNEL(language)): Asterisk then finds every sound,
its own (queue-youarenext, sorry...) and the uploaded prompts, in that language's directory,
falling back to the file without a language. So one setting per queue makes the queue's
position and hold-time announcements, its closed message and its abandon message French.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ...core.errors import InvalidInput
from ...core.text import Text

LANGUAGE_RE = re.compile(r"^[a-z]{2}(_[A-Z]{2})?$")
MEDIA_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
CLASS_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# the class the instance always has (its generated chime, musiconhold.conf): never redefined
BUILTIN_MOH_CLASS = "default"
SAMPLE_RATE = 8000  # what Asterisk plays on a phone call (slin, 8 kHz, mono): no transcoding
# below the web server's 20 MB request limit, so a too big file gets an error naming it
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
MAX_PROMPT_SECONDS = 300
MAX_MOH_SECONDS = 1800
MAX_CLOSED_DAYS = 400
UPLOAD_SUFFIXES = (".wav", ".mp3")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


def check_language(language: str, installed: Iterable[str], field_name: str = "language") -> str:
    """`language` when Asterisk has its sounds (sounds/<language>); InvalidInput naming the field
    and the languages it has otherwise. "" (the default language) is always accepted."""
    if language == "":
        return language
    have = sorted(set(installed))
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise InvalidInput(
            Text(
                "%(field_name)s: %(language)r is not a language code like fr or en",
                field_name=field_name,
                language=language,
            ),
            field=field_name,
        )
    if language not in have:
        raise InvalidInput(
            Text(
                "%(field_name)s: Asterisk has no sounds in %(language)r (installed: %(value)s)",
                field_name=field_name,
                language=language,
                value=", ".join(have) or "none",
            ),
            field=field_name,
            installed=have,
        )
    return language


def check_media_name(name: str, field_name: str = "name") -> str:
    if not isinstance(name, str) or not MEDIA_NAME_RE.match(name):
        raise InvalidInput(
            Text(
                "%(field_name)s: %(name)r must be lower-case letters, digits, '-' or '_' (max 48)",
                field_name=field_name,
                name=name,
            ),
            field=field_name,
        )
    return name


def check_class_name(name: str, field_name: str = "music_class") -> str:
    if not isinstance(name, str) or not CLASS_NAME_RE.match(name):
        raise InvalidInput(
            Text(
                "%(field_name)s: %(name)r must be lower-case letters, digits, '-' or '_' (max 32), starting with a letter",
                field_name=field_name,
                name=name,
            ),
            field=field_name,
        )
    return name


def name_from_filename(filename: str) -> str:
    """A media name from an uploaded file's name: 'Accueil Noël.MP3' -> 'accueil-noel'."""
    import unicodedata

    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_-]+", "-", ascii_stem.lower()).strip("-_")[:48]


def check_upload(filename: str, size: int) -> None:
    """Refuse, naming the file, what cannot be a prompt before decoding it: a name that is not
    .wav/.mp3, an empty or too big file."""
    shown = filename or "(no file name)"
    if not filename or not filename.lower().endswith(UPLOAD_SUFFIXES):
        raise InvalidInput(
            Text("%(shown)s: only WAV or MP3 files can be uploaded", shown=shown), field="file", file=shown
        )
    if size == 0:
        raise InvalidInput(Text("%(shown)s: the file is empty", shown=shown), field="file", file=shown)
    if size > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            Text(
                "%(shown)s: %(value)s MB is too big (at most %(value2)s MB)",
                shown=shown,
                value=f"{size / 1048576:.1f}",
                value2=MAX_UPLOAD_BYTES // 1048576,
            ),
            field="file",
            file=shown,
        )


def check_duration(filename: str, seconds: float, limit: int) -> None:
    if seconds <= 0:
        raise InvalidInput(Text("%(filename)s: no sound in this file", filename=filename), field="file", file=filename)
    if seconds > limit:
        raise InvalidInput(
            Text(
                "%(filename)s: %(seconds)s s is too long (at most %(limit)s s)",
                filename=filename,
                seconds=f"{seconds:.0f}",
                limit=limit,
            ),
            field="file",
            file=filename,
        )


# --- what is stored -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFile:
    """A converted audio file: a prompt (`group` = its language) or a music file (`group` = its
    class)."""

    group: str
    name: str
    duration_ms: int
    size_bytes: int
    source_name: str = ""
    uploaded_by: str = ""
    uploaded_at: datetime | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "duration_seconds": round(self.duration_ms / 1000, 1),
            "size_bytes": self.size_bytes,
            "source_name": self.source_name,
            "uploaded_by": self.uploaded_by,
            "uploaded_at": self.uploaded_at.isoformat() if self.uploaded_at else None,
        }


@dataclass(frozen=True)
class ClosedDay:
    day: date
    label: str = ""

    def to_dict(self) -> dict:
        return {"day": self.day.isoformat(), "label": self.label}


@dataclass(frozen=True)
class QueueMedia:
    """A queue's language ("" = the server's default), music class ("" = default), prompts
    played at entry and when closed ("" = none / Asterisk's 'sorry'), and its closed days."""

    queue: str
    language: str = ""
    music_class: str = ""
    welcome_prompt: str = ""
    closed_prompt: str = ""
    closed_days: tuple[ClosedDay, ...] = ()
    updated_by: str = ""
    updated_at: datetime | None = None

    def to_dict(self) -> dict:
        return {
            "queue": self.queue,
            "language": self.language,
            "music_class": self.music_class,
            "welcome_prompt": self.welcome_prompt,
            "closed_prompt": self.closed_prompt,
            "closed_days": [d.to_dict() for d in self.closed_days],
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    def effective_language(self, default: str) -> str:
        return self.language or default


def parse_closed_days(value: object) -> tuple[ClosedDay, ...]:
    """Closed days from JSON ([{"day": "2026-12-24", "label": "..."}] or ["2026-12-24"]) or
    text (one per line: '2026-12-24 Veille de Noël'); InvalidInput naming the bad one."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise InvalidInput("closed_days: not valid JSON", field="closed_days") from None
        else:
            value = [line.strip() for line in text.splitlines() if line.strip()]
    if not isinstance(value, list | tuple):
        raise InvalidInput("closed_days: a list of days (YYYY-MM-DD)", field="closed_days")
    days: dict[date, ClosedDay] = {}
    for position, item in enumerate(value, 1):
        if isinstance(item, Mapping):
            raw, label = str(item.get("day", "")), str(item.get("label", "") or "")
        else:
            raw, _, label = str(item).partition(" ")
        try:
            day = date.fromisoformat(raw.strip())
        except ValueError:
            raise InvalidInput(
                Text(
                    "closed_days: %(raw)r (entry %(position)s) is not a date like 2026-12-24",
                    raw=raw,
                    position=position,
                ),
                field="closed_days",
            ) from None
        label = label.strip()
        if len(label) > 80 or re.search(r"[\x00-\x1f]", label):
            raise InvalidInput(
                Text("closed_days: the label of %(raw)s is too long or has control characters", raw=raw),
                field="closed_days",
            )
        days[day] = ClosedDay(day, label)
    if len(days) > MAX_CLOSED_DAYS:
        raise InvalidInput(
            Text("closed_days: at most %(MAX_CLOSED_DAYS)s days", MAX_CLOSED_DAYS=MAX_CLOSED_DAYS), field="closed_days"
        )
    return tuple(sorted(days.values(), key=lambda d: d.day))


def validate_queue_media(
    media: QueueMedia,
    *,
    languages: Iterable[str],
    music_classes: Iterable[str],
    prompts: Iterable[tuple[str, str]],
    default_language: str,
) -> QueueMedia:
    """InvalidInput naming the field when the language is not installed, the class does not
    exist, or a prompt does not exist in the queue's language."""
    check_language(media.language, languages)
    if media.music_class and media.music_class != BUILTIN_MOH_CLASS and media.music_class not in set(music_classes):
        raise InvalidInput(
            Text("music_class: no music on hold class %(music_class)r", music_class=media.music_class),
            field="music_class",
        )
    language = media.effective_language(default_language)
    have = set(prompts)
    for field_name in ("welcome_prompt", "closed_prompt"):
        name = getattr(media, field_name)
        if name:
            check_media_name(name, field_name)
            if (language, name) not in have:
                raise InvalidInput(
                    Text(
                        "%(field_name)s: no prompt %(name)r in %(language)r: upload it first",
                        field_name=field_name,
                        name=name,
                        language=language,
                    ),
                    field=field_name,
                )
    return media


# --- open or closed -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenState:
    """Whether a queue takes calls at an instant, and why not: 'closed_day', 'holiday' or
    'hours' (outside the opening hours)."""

    open: bool
    reason: str = ""
    label: str = ""


def _slots(hours: Mapping[str, str]) -> list[tuple[set[int], int, int]]:
    """{"mon-fri": "08:00-12:00, 13:30-18:00"} -> [(weekdays, start minute, end minute)]."""
    slots = []
    for days, ranges in hours.items():
        parts = days.strip().lower().split("-")
        if not 1 <= len(parts) <= 2 or any(p not in DAYS for p in parts):
            raise InvalidInput(
                Text("hours: %(days)r is not a day or a day range like mon-fri", days=days), field="hours"
            )
        first, last = DAYS.index(parts[0]), DAYS.index(parts[-1])
        # a range wraps like Asterisk's GotoIfTime: fri-mon is fri, sat, sun, mon
        weekdays = {(first + i) % 7 for i in range((last - first) % 7 + 1)}
        for text in str(ranges).split(","):
            match = _RANGE_RE.match(text.strip())
            if not match:
                raise InvalidInput(
                    Text("hours: %(value)r is not a range like 08:00-12:30", value=text.strip()), field="hours"
                )
            start = int(match[1]) * 60 + int(match[2])
            end = int(match[3]) * 60 + int(match[4])
            if start >= end:
                raise InvalidInput(Text("hours: %(value)r ends before it starts", value=text.strip()), field="hours")
            slots.append((weekdays, start, end))
    return slots


def holidays_of(calendar: str, year: int) -> dict[date, str]:
    """The public holidays of `calendar` ("FR", "FR-57" Alsace-Moselle...) in `year`."""
    if not calendar:
        return {}
    import holidays  # the `holidays` library: pure computation, no I/O

    country, _, subdiv = calendar.partition("-")
    try:
        return dict(holidays.country_holidays(country, subdiv=subdiv or None, years=[year]))
    except NotImplementedError:
        raise InvalidInput(
            Text("holidays: unknown holiday calendar %(calendar)r", calendar=calendar), field="holidays"
        ) from None


def open_state(
    now: datetime,
    *,
    timezone: str = "Europe/Paris",
    hours: Mapping[str, str] | None = None,
    holidays: str = "",
    closed_days: Iterable[ClosedDay] = (),
) -> OpenState:
    """Whether a queue is open at `now` (an aware datetime), judged in the queue's time zone:
    a closed day first, then a public holiday, then the opening hours (none: always open).
    The generated dialplan makes the same decision with GotoIfTime in that zone."""
    if now.tzinfo is None:
        raise ValueError("open_state needs an aware datetime (Clock.now())")
    local = now.astimezone(ZoneInfo(timezone))
    today = local.date()
    for closed in closed_days:
        if closed.day == today:
            return OpenState(False, "closed_day", closed.label)
    holiday = holidays_of(holidays, today.year).get(today)
    if holiday is not None:
        return OpenState(False, "holiday", holiday)
    if not hours:
        return OpenState(True)
    minute = local.hour * 60 + local.minute
    for weekdays, start, end in _slots(hours):
        if local.weekday() in weekdays and start <= minute < end:
            return OpenState(True)
    return OpenState(False, "hours")


# --- Asterisk configuration ---------------------------------------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def closed_day_lines(days: Iterable[ClosedDay], timezone: str, years: Iterable[int]) -> list[str]:
    """GotoIfTime lines sending a caller to `closed` on each closed day of `years`, for a
    queue's [ccq-NAME] context (labels stay in the comment, stripped of what a dialplan
    comment cannot hold)."""
    wanted = set(years)
    lines = []
    for closed in days:
        if closed.day.year not in wanted:
            continue
        label = re.sub(r"[\x00-\x1f;]", "", closed.label)
        lines.append(
            f" same => n,GotoIfTime(*,*,{closed.day.day},{_MONTHS[closed.day.month - 1]},{timezone}?closed,1)"
            f" ; {closed.day.isoformat()} closed day {label}".rstrip()
        )
    return lines


def prompt_path(media_dir: str, name: str) -> str:
    """The file name Asterisk is given for prompt `name` (without extension, without language:
    Asterisk inserts the channel's language, <media_dir>/prompts/<language>/<name>.wav)."""
    check_media_name(name)
    return f"{media_dir.rstrip('/')}/prompts/{name}"


def render_musiconhold(classes: Iterable[str], media_dir: str) -> str:
    """musiconhold_generated.conf: one files-mode class per uploaded class (included by the
    instance's musiconhold.conf after its [default])."""
    lines = ["; generated by ccserver from the music on hold classes: do not edit", ""]
    for name in sorted(set(classes)):
        check_class_name(name)
        if name == BUILTIN_MOH_CLASS:
            continue
        lines += [f"[{name}]", "mode = files", f"directory = {media_dir.rstrip('/')}/moh/{name}", "sort = alpha", ""]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class MediaConfig:
    """What the queues' configuration needs from the media capability: each queue's settings,
    the language of queues that name none, and the directory (as Asterisk sees it) holding the
    prompts and music ("" when there is none: prompts are then not used)."""

    queues: Mapping[str, QueueMedia] = field(default_factory=dict)
    default_language: str = ""
    media_dir: str = ""

    def of(self, queue: str) -> QueueMedia:
        return self.queues.get(queue) or QueueMedia(queue)

    def language_of(self, queue: str) -> str:
        return self.of(queue).effective_language(self.default_language)

    def prompt(self, name: str) -> str:
        """The path Asterisk plays for an uploaded prompt; "" when there is no media directory."""
        return prompt_path(self.media_dir, name) if name and self.media_dir else ""
