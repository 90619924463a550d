"""Database access for the media capability: prompts, music classes and their files, and each
queue's media settings (0016_media). The audio is in files (adapters/asterisk/media_files.py)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from ...capabilities.media.errors import NoSuchMusicClass
from ...capabilities.media.model import ClosedDay, MediaFile, QueueMedia
from ...core.clock import Clock, SystemClock
from ...core.errors import Conflict
from ...core.text import Text
from .database import Database
from .tables import MediaMohClass, MediaMohFile, MediaPrompt, MediaQueueSettings


def _file(group: str, row) -> MediaFile:
    return MediaFile(
        group, row.name, row.duration_ms, row.size_bytes, row.source_name, row.uploaded_by, row.uploaded_at
    )


def _queue_media(row: MediaQueueSettings) -> QueueMedia:
    days = tuple(
        ClosedDay(date.fromisoformat(d["day"]), d.get("label", "")) for d in json.loads(row.closed_days or "[]")
    )
    return QueueMedia(
        row.queue,
        row.language,
        row.music_class,
        row.welcome_prompt,
        row.closed_prompt,
        days,
        row.updated_by,
        row.updated_at,
    )


class MediaRepository:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # --- prompts
    def prompts(self) -> list[MediaFile]:
        with self.db.read_session() as s:
            rows = s.exec(select(MediaPrompt).order_by(MediaPrompt.language, MediaPrompt.name))
            return [_file(r.language, r) for r in rows]

    def save_prompt(self, prompt: MediaFile) -> None:
        with self.db.write_session() as s:
            row = s.get(MediaPrompt, (prompt.group, prompt.name)) or MediaPrompt(
                language=prompt.group, name=prompt.name, uploaded_at=prompt.uploaded_at
            )
            row.duration_ms, row.size_bytes = prompt.duration_ms, prompt.size_bytes
            row.source_name, row.uploaded_by = prompt.source_name, prompt.uploaded_by
            row.uploaded_at = prompt.uploaded_at or self.clock.now()
            s.add(row)

    def delete_prompt(self, language: str, name: str) -> bool:
        with self.db.write_session() as s:
            row = s.get(MediaPrompt, (language, name))
            if row is None:
                return False
            s.delete(row)
            return True

    # --- music on hold
    def music_classes(self) -> dict[str, list[MediaFile]]:
        with self.db.read_session() as s:
            classes: dict[str, list[MediaFile]] = {
                c.name: [] for c in s.exec(select(MediaMohClass).order_by(MediaMohClass.name))
            }
            for row in s.exec(select(MediaMohFile).order_by(MediaMohFile.class_name, MediaMohFile.name)):
                classes.setdefault(row.class_name, []).append(_file(row.class_name, row))
            return classes

    def create_music_class(self, name: str, actor: str) -> None:
        try:
            with self.db.write_session() as s:
                if s.get(MediaMohClass, name) is not None:
                    raise Conflict(Text("there is already a music class %(name)r", name=name), field="name")
                s.add(MediaMohClass(name=name, created_by=actor, created_at=self.clock.now()))
        except IntegrityError:
            raise Conflict(Text("there is already a music class %(name)r", name=name), field="name") from None

    def delete_music_class(self, name: str) -> bool:
        with self.db.write_session() as s:
            row = s.get(MediaMohClass, name)
            if row is None:
                return False
            for music in s.exec(select(MediaMohFile).where(MediaMohFile.class_name == name)):
                s.delete(music)
            s.flush()
            s.delete(row)
            return True

    def save_music_file(self, music: MediaFile) -> None:
        with self.db.write_session() as s:
            if s.get(MediaMohClass, music.group) is None:
                raise NoSuchMusicClass(Text("no music on hold class %(group)r", group=music.group), field="music_class")
            row = s.get(MediaMohFile, (music.group, music.name)) or MediaMohFile(
                class_name=music.group, name=music.name, uploaded_at=music.uploaded_at
            )
            row.duration_ms, row.size_bytes = music.duration_ms, music.size_bytes
            row.source_name, row.uploaded_by = music.source_name, music.uploaded_by
            row.uploaded_at = music.uploaded_at or self.clock.now()
            s.add(row)

    def delete_music_file(self, class_name: str, name: str) -> bool:
        with self.db.write_session() as s:
            row = s.get(MediaMohFile, (class_name, name))
            if row is None:
                return False
            s.delete(row)
            return True

    # --- queues
    def queue_media(self) -> dict[str, QueueMedia]:
        with self.db.read_session() as s:
            return {r.queue: _queue_media(r) for r in s.exec(select(MediaQueueSettings))}

    def save_queue_media(self, media: QueueMedia) -> None:
        with self.db.write_session() as s:
            row = s.get(MediaQueueSettings, media.queue) or MediaQueueSettings(
                queue=media.queue, updated_at=media.updated_at or self.clock.now()
            )
            row.language, row.music_class = media.language, media.music_class
            row.welcome_prompt, row.closed_prompt = media.welcome_prompt, media.closed_prompt
            row.closed_days = json.dumps([d.to_dict() for d in media.closed_days], ensure_ascii=False)
            row.updated_by = media.updated_by
            row.updated_at = media.updated_at or self.clock.now()
            s.add(row)
