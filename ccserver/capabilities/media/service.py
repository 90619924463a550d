"""Media use cases: upload and remove prompts (per language) and music on hold files, make and
remove music classes, set each queue's language, music class, prompts and closed days.

Uploads are converted (the AudioConverter port) before anything is stored: a bad file changes
nothing. Every change is audited (with the settings before and after) and applied to Asterisk at
once: a queue's settings through the ACD's configuration (`apply_queues`: its queues and dialplan
files rendered again, Asterisk reloaded), music classes by rendering musiconhold_generated.conf
and reloading res_musiconhold. One change at a time (a lock), each applied before the next.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...core.clock import Clock
from ...core.errors import Conflict, InvalidInput, PbxCommandFailed, PbxTimeout, PbxUnavailable
from ...core.ports import ConfigWriter, PbxCommands
from ...core.text import Text
from .errors import MediaInUse, NoMediaDirectory, NoSuchMusicClass, NoSuchPrompt
from .model import (
    BUILTIN_MOH_CLASS,
    MAX_MOH_SECONDS,
    MAX_PROMPT_SECONDS,
    MediaConfig,
    MediaFile,
    OpenState,
    QueueMedia,
    check_class_name,
    check_language,
    check_media_name,
    check_upload,
    name_from_filename,
    open_state,
    parse_closed_days,
    render_musiconhold,
    validate_queue_media,
)
from .ports import AudioConverter, Audit, MediaFiles, MediaRepository

logger = logging.getLogger(__name__)

MOH_FILE = "musiconhold_generated.conf"
QUEUE_FIELDS = ("language", "music_class", "welcome_prompt", "closed_prompt", "closed_days")


class MediaService:
    def __init__(
        self,
        repo: MediaRepository,
        audit: Audit,
        clock: Clock,
        *,
        converter: AudioConverter,
        files: MediaFiles | None,
        default_language: str = "",
        pbx: PbxCommands | None = None,
        writer: ConfigWriter | None = None,
        apply_queues: Callable[[], Awaitable[None]] | None = None,
        queue_names: Callable[[], Awaitable[list[str]]] | None = None,
        queue_calendar: Callable[[str], Awaitable[Any]] | None = None,
    ) -> None:
        self.repo = repo
        self.audit = audit
        self.clock = clock
        self.converter = converter
        self.files = files
        self.default_language = default_language
        self.pbx = pbx
        self.writer = writer
        self.apply_queues = apply_queues
        self.queue_names = queue_names
        self.queue_calendar = queue_calendar  # name -> the ACD's QueueDefinition (hours, holidays)
        self._lock = asyncio.Lock()

    # --- what exists ----------------------------------------------------------------------------
    def languages(self) -> list[str] | None:
        """The languages Asterisk has sounds for; None when this server cannot see them."""
        return self.files.languages() if self.files is not None else None

    async def installed_languages(self) -> list[str] | None:
        return await asyncio.to_thread(self.languages)

    async def prompts(self) -> list[MediaFile]:
        return await asyncio.to_thread(self.repo.prompts)

    async def music_classes(self) -> dict[str, list[MediaFile]]:
        return await asyncio.to_thread(self.repo.music_classes)

    async def queue_media(self) -> dict[str, QueueMedia]:
        """Every queue's media settings (the defaults for those never set)."""
        stored = await asyncio.to_thread(self.repo.queue_media)
        names = await self.queue_names() if self.queue_names else sorted(stored)
        return {name: stored.get(name) or QueueMedia(name) for name in names}

    async def config(self) -> MediaConfig:
        """What the ACD renders the queues with (its `media_config`)."""
        stored = await asyncio.to_thread(self.repo.queue_media)
        return MediaConfig(stored, self.default_language, self.files.asterisk_dir if self.files is not None else "")

    async def open_state(self, queue: str, at: datetime | None = None) -> OpenState:
        """Whether `queue` takes calls now (or at `at`): closed days, public holidays, hours."""
        if self.queue_calendar is None:
            raise InvalidInput("queue: no queues on this server", field="queue")
        definition = await self.queue_calendar(queue)
        media = (await asyncio.to_thread(self.repo.queue_media)).get(queue) or QueueMedia(queue)
        return open_state(
            at or self.clock.now(),
            timezone=definition.timezone,
            hours=definition.hours,
            holidays=definition.holidays,
            closed_days=media.closed_days,
        )

    def _require_files(self) -> MediaFiles:
        if self.files is None:
            raise NoMediaDirectory(
                "no directory shared with Asterisk for audio files: set asterisk.media_dir "
                "(and asterisk.media_dir_in_asterisk) for an external Asterisk",
                field="asterisk.media_dir",
            )
        return self.files

    def _check_language(self, language: str) -> str:
        if not language:
            raise InvalidInput("language: say which language this prompt is in (e.g. fr)", field="language")
        installed = self.languages()
        if installed is None:
            return check_language(language, [language])  # the form only
        return check_language(language, installed)

    # --- prompts --------------------------------------------------------------------------------
    async def add_prompt(self, language: str, name: str, filename: str, data: bytes, actor: str) -> MediaFile:
        """Convert and store a prompt (replacing one of the same name and language)."""
        files = self._require_files()
        self._check_language(language)
        check_upload(filename, len(data))
        name = check_media_name(name or name_from_filename(filename))
        converted = await asyncio.to_thread(self.converter.convert, filename, data, MAX_PROMPT_SECONDS)
        prompt = MediaFile(
            language,
            name,
            round(converted.seconds * 1000),
            len(converted.wav),
            filename[-255:],
            actor,
            self.clock.now(),
        )
        async with self._lock:
            existed = any(p.group == language and p.name == name for p in await self.prompts())
            await asyncio.to_thread(files.write, f"prompts/{language}/{name}.wav", converted.wav)
            await asyncio.to_thread(self.repo.save_prompt, prompt)
            await asyncio.to_thread(
                self.audit.record,
                actor,
                "prompt.replace" if existed else "prompt.add",
                f"{language}/{name}",
                source=prompt.source_name,
                seconds=round(converted.seconds, 1),
            )
        logger.info("prompt %s/%s (%.1f s) uploaded by %s", language, name, converted.seconds, actor)
        return prompt

    async def remove_prompt(self, language: str, name: str, actor: str) -> None:
        files = self._require_files()
        check_media_name(name)
        async with self._lock:
            prompts = {(p.group, p.name) for p in await self.prompts()}
            if (language, name) not in prompts:
                raise NoSuchPrompt(
                    Text("no prompt %(name)r in %(language)r", name=name, language=language), field="name"
                )
            users = [
                f"{q.queue} ({field_name})"
                for q in (await asyncio.to_thread(self.repo.queue_media)).values()
                for field_name in ("welcome_prompt", "closed_prompt")
                if getattr(q, field_name) == name and q.effective_language(self.default_language) == language
            ]
            if users:
                raise MediaInUse(f"prompt {name!r} is used by {', '.join(users)}: change that first", field="name")
            await asyncio.to_thread(self.repo.delete_prompt, language, name)
            await asyncio.to_thread(files.remove, f"prompts/{language}/{name}.wav")
            await asyncio.to_thread(self.audit.record, actor, "prompt.remove", f"{language}/{name}")

    # --- music on hold --------------------------------------------------------------------------
    async def create_music_class(self, name: str, actor: str) -> None:
        check_class_name(name, "name")
        if name == BUILTIN_MOH_CLASS:
            raise Conflict(Text("%(name)r is the built-in class", name=name), field="name")
        async with self._lock:
            await asyncio.to_thread(self.repo.create_music_class, name, actor)
            await asyncio.to_thread(self.audit.record, actor, "moh.class_create", name)
            await self._apply_music()

    async def remove_music_class(self, name: str, actor: str) -> None:
        files = self._require_files()
        check_class_name(name, "name")
        async with self._lock:
            users = [
                q.queue for q in (await asyncio.to_thread(self.repo.queue_media)).values() if q.music_class == name
            ]
            if users:
                raise MediaInUse(f"music class {name!r} is used by {', '.join(users)}: change that first", field="name")
            if not await asyncio.to_thread(self.repo.delete_music_class, name):
                raise NoSuchMusicClass(Text("no music on hold class %(name)r", name=name), field="name")
            await asyncio.to_thread(files.remove, f"moh/{name}")
            await asyncio.to_thread(self.audit.record, actor, "moh.class_remove", name)
            await self._apply_music()

    async def add_music_file(self, class_name: str, name: str, filename: str, data: bytes, actor: str) -> MediaFile:
        files = self._require_files()
        check_class_name(class_name, "music_class")
        check_upload(filename, len(data))
        name = check_media_name(name or name_from_filename(filename))
        if class_name not in await self.music_classes():
            raise NoSuchMusicClass(
                Text("no music on hold class %(class_name)r", class_name=class_name), field="music_class"
            )
        converted = await asyncio.to_thread(self.converter.convert, filename, data, MAX_MOH_SECONDS)
        music = MediaFile(
            class_name,
            name,
            round(converted.seconds * 1000),
            len(converted.wav),
            filename[-255:],
            actor,
            self.clock.now(),
        )
        async with self._lock:
            await asyncio.to_thread(files.write, f"moh/{class_name}/{name}.wav", converted.wav)
            await asyncio.to_thread(self.repo.save_music_file, music)
            await asyncio.to_thread(
                self.audit.record, actor, "moh.file_add", f"{class_name}/{name}", source=music.source_name
            )
            await self._apply_music()
        return music

    async def remove_music_file(self, class_name: str, name: str, actor: str) -> None:
        files = self._require_files()
        check_media_name(name)
        async with self._lock:
            if not await asyncio.to_thread(self.repo.delete_music_file, class_name, name):
                raise NoSuchPrompt(
                    Text("no file %(name)r in music class %(class_name)r", name=name, class_name=class_name),
                    field="name",
                )
            await asyncio.to_thread(files.remove, f"moh/{class_name}/{name}.wav")
            await asyncio.to_thread(self.audit.record, actor, "moh.file_remove", f"{class_name}/{name}")
            await self._apply_music()

    async def apply_music(self) -> None:
        """Write the music classes and reload them (at start, and after each change)."""
        async with self._lock:
            await self._apply_music()

    async def _apply_music(self) -> None:
        if self.writer is None or self.files is None:
            return
        classes = await self.music_classes()
        text = render_musiconhold([c for c, music in classes.items() if music], self.files.asterisk_dir)
        await asyncio.to_thread(self.writer.write_generated, MOH_FILE, text)
        if self.pbx is not None and self.pbx.is_up:
            try:
                await self.pbx.reload("res_musiconhold.so")
            except (PbxUnavailable, PbxTimeout, PbxCommandFailed) as exc:  # loaded at its next start
                logger.warning("music on hold written, not reloaded yet: %s", exc)

    # --- a queue's settings ---------------------------------------------------------------------
    async def set_queue_media(self, queue: str, changes: Mapping[str, Any], actor: str) -> QueueMedia:
        """Change some of a queue's media settings (`changes`: any of QUEUE_FIELDS); validated
        whole, stored, audited with before and after, and applied to Asterisk."""
        unknown = sorted(set(changes) - set(QUEUE_FIELDS))
        if unknown:
            raise InvalidInput(
                Text("%(unknown)s: not a media setting of a queue", unknown=unknown[0]), field=unknown[0]
            )
        async with self._lock:
            current = (await self.queue_media()).get(queue)
            if current is None:
                raise InvalidInput(Text("queue: no queue %(queue)r", queue=queue), field="queue")
            updated = current
            for key, value in changes.items():
                if key == "closed_days":
                    updated = replace(updated, closed_days=parse_closed_days(value))
                else:
                    if not isinstance(value, str):
                        raise InvalidInput(Text("%(key)s: a text value", key=key), field=key)
                    updated = replace(updated, **{key: value.strip()})
            installed = self.languages()
            validate_queue_media(
                updated,
                languages=installed if installed is not None else [updated.language],
                music_classes=await self.music_classes(),
                prompts=[(p.group, p.name) for p in await self.prompts()],
                default_language=self.default_language,
            )
            updated = replace(updated, updated_by=actor, updated_at=self.clock.now())
            await asyncio.to_thread(self.repo.save_queue_media, updated)
            if self.apply_queues is not None:
                try:
                    await self.apply_queues()
                except PbxCommandFailed:
                    # Asterisk refused the new configuration: the old settings come back, in
                    # the database and in Asterisk, and the admin is told
                    await asyncio.to_thread(self.repo.save_queue_media, current)
                    await self.apply_queues()
                    raise
            before, after = current.to_dict(), updated.to_dict()
            await asyncio.to_thread(
                self.audit.record,
                actor,
                "queue.media_update",
                queue,
                before={k: before[k] for k in QUEUE_FIELDS},
                after={k: after[k] for k in QUEUE_FIELDS},
            )
        return updated
