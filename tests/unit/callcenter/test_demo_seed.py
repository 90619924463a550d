"""The demo seeds its skills, pause codes, queues and wrap-up codes through the call-center
settings service (validated, audited as 'demo'), once: a second run keeps what exists."""

from __future__ import annotations

from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.callcenter import CallCenterRepository
from ccserver.adapters.db.database import Database
from ccserver.adapters.db.repositories import AuditLog
from ccserver.commands import demo
from ccserver.settings import Settings


def test_the_demo_settings_come_through_the_service_once(tmp_path):
    settings = Settings().replace({"storage.data_dir": tmp_path})
    demo.seed_demo(settings)
    demo.seed_demo(settings)
    db = Database(settings.storage.effective_database_url)
    try:
        repo = CallCenterRepository(db)
        assert [s.name for s in repo.skills()] == sorted(demo.SKILLS)
        codes = {c.code: (c.label, c.paid, c.max_minutes) for c in repo.pause_codes()}
        assert codes == demo.PAUSE_REASONS
        queues = {q.name: q for q in AcdRepository(db).queues()}
        for queue in demo.QUEUES:
            assert queues[queue.name].dispositions == queue.dispositions  # added as wrap-up codes
            assert dict(queues[queue.name].required_skills) == dict(queue.required_skills)
        actions = sorted(e.action for e in AuditLog(db).list(actor="demo", limit=1000))
        expected = (
            ["pause_code.create"] * len(demo.PAUSE_REASONS)
            + ["queue.create"] * len(demo.QUEUES)
            + ["skill.create"] * len(demo.SKILLS)
            + ["wrapup_code.create"] * sum(len(q.dispositions) for q in demo.QUEUES)
        )
        assert actions == sorted(expected)  # every setting audited, once
    finally:
        db.dispose()
