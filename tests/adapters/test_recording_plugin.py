"""The recording, privacy and admin plugins as the Runtime wires them: what each adds, and the
late cleanup phase (the recording's and the erasure's stop) running after the bus is drained."""

from __future__ import annotations

from ccserver.app import Runtime
from ccserver.settings import Settings


def test_runtime_installs_admin_recording_and_privacy_plugins_with_their_jobs(tmp_path):
    runtime = Runtime(
        Settings().replace({"storage.data_dir": tmp_path, "recording.purge_hour": 4, "web.session_purge_interval": 7}),
        endpoint=None,
    )
    plugins = {p.name: p for p in runtime.plugins}
    assert {"admin", "recording", "privacy"} <= set(plugins)
    assert plugins["recording"].service is runtime.recording
    assert plugins["privacy"].service is runtime.erasure
    assert plugins["admin"].service is runtime.user_admin
    [purge] = plugins["recording"].jobs
    assert (purge.id, purge.trigger, purge.options) == ("recording-purge", "cron", {"hour": 4, "minute": 17})
    sessions, disabled = plugins["admin"].jobs
    assert (sessions.id, sessions.trigger, sessions.options) == ("sessions-purge-expired", "interval", {"minutes": 7})
    # a user disabled by the CLI (another process): their agent leaves the queues within 5 s
    assert (disabled.id, disabled.trigger, disabled.options) == (
        "users-log-out-disabled-agents",
        "interval",
        {"seconds": 2},
    )
    assert runtime.user_admin.membership is runtime.acd
    assert [s.name for s in plugins["recording"].subscriptions] == ["recording"]
    assert [s.name for s in plugins["privacy"].subscriptions] == ["erasure"]
    assert plugins["recording"].late_cleanup == [runtime.recording.stop]
    assert plugins["privacy"].late_cleanup == [runtime.erasure.stop]
    assert plugins["recording"].web_routes is not None and plugins["privacy"].web_routes is not None


async def test_late_cleanups_run_after_the_bus_stopped_even_if_one_fails(tmp_path):
    runtime = Runtime(Settings().replace({"storage.data_dir": tmp_path}), endpoint=None)
    await runtime.start()
    assert "recording-purge" in {j.id for j in runtime.scheduler.get_jobs()}
    assert "sessions-purge-expired" in {j.id for j in runtime.scheduler.get_jobs()}
    seen = []

    async def erasure_stop():
        seen.append(("privacy", runtime.bus._started))
        raise RuntimeError("boom")

    async def recording_stop():
        seen.append(("recording", runtime.bus._started))

    plugins = {p.name: p for p in runtime.plugins}
    plugins["privacy"].late_cleanup[:] = [erasure_stop]
    plugins["recording"].late_cleanup[:] = [recording_stop]
    await runtime.stop()
    # reversed install order; the bus had stopped; one failing does not stop the others
    assert seen == [("privacy", False), ("recording", False)]
