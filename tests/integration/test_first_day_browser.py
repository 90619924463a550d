"""A fresh install's first day, through the pages only (issue 13 item 7).

One real `ccserver serve` process on an EMPTY database (SQLite, then PostgreSQL) with its own private Asterisk. The admin
is made with the real CLI (`ccserver user add`); everything else is clicks and typing in
Chromium: the admin creates a queue, two skills, a pause code, a wrap-up code, an agent and a
supervisor (scope: the queue) and gives both a SIP phone, reading each SIP password where the
page shows it once; sipp phones register with those passwords; a sipp caller reaches the agent,
who pauses with the new code on the desk; the supervisor listens from the wallboard (what each
phone hears checked on the RTP reaching it); then the admin types a new number into the dialplan
editor, checks, saves and applies it, the number answers as written, and one click rolls it
back: the number is unallocated again (SIP 404).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from tests.integration.test_serve_shutdown import ServerProcess
from tests.integration.test_supervision import SPEECH, silence
from tests.support.browser import chromium, log_in
from tests.support.db import postgres_schema_url
from tests.support.rtp_capture import RtpCapture
from tests.support.server import until
from tests.support.sipp import Answer, SippCaller, SippPhone

pytestmark = [pytest.mark.asterisk, pytest.mark.browser]
PASSWORD = "password-1234"
QUEUE_NUMBER = "4100"
NEW_NUMBER = "4747"
TYPED = f"exten => {NEW_NUMBER},1,Answer()\nsame => n,Playback(beep)\nsame => n,Hangup()\n"


def queue_show(server: ServerProcess) -> str:
    """What Asterisk says of the queue (its CLI, as an admin on the machine would ask)."""
    return server.instance.cli("queue show support")


async def issue_phone(page, base_url: str, username: str) -> dict[str, str]:
    """Click "Créer le téléphone" for `username` on /admin/phones; the settings shown once."""
    await page.goto(base_url + "/admin/phones")
    await page.click(f"tr[data-username={username}] form.phone-create button")
    await page.wait_for_selector(f"#issued[data-username={username}]")
    fields = ("server", "port", "username", "password")
    return {f: (await page.text_content(f"#sip-{f}")).strip() for f in fields}


async def create_user(page, base_url: str, username: str, role: str, **fields: str) -> None:
    await page.goto(base_url + "/admin/users")
    form = "#user-create-form"
    await page.fill(f"{form} input[name=username]", username)
    await page.fill(f"{form} input[name=display_name]", username.title())
    await page.select_option(f"{form} select[name=role]", role)
    await page.fill(f"{form} input[name=password]", PASSWORD)
    for name, value in fields.items():
        await page.fill(f"{form} input[name={name}]", value)
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector(f"tr[data-user={username}][data-active=yes]")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request):
    """ "" (the default SQLite file under var/) or a fresh, empty PostgreSQL schema."""
    if request.param == "sqlite":
        yield ""
    else:
        with postgres_schema_url() as url:
            yield url


async def test_fresh_install_to_first_call_through_the_pages(tmp_path, database_url):
    started = time.monotonic()
    server = ServerProcess(tmp_path, "serve")
    if database_url:
        server.env["CCSERVER_STORAGE_DATABASE_URL"] = database_url
    phones: list[SippPhone] = []
    callers: list[SippCaller] = []
    try:
        # the README's first day: the admin from the CLI, on an empty database, then serve
        server.data_dir.mkdir(parents=True)
        made = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "ccserver.cli",
                "user",
                "add",
                "admin",
                "--role",
                "admin",
                "--display-name",
                "Admin",
            ],
            cwd=server.data_dir.parent,
            env=server.env,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        info = server.instance.info

        async with chromium() as browser:
            errors: list[str] = []

            async def new_page():
                page = await (await browser.new_context()).new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
                return page

            admin = await new_page()
            await log_in(admin, base, "admin", PASSWORD)

            # --- /admin/callcenter: two skills, the queue, a pause code -------------------------
            await admin.goto(base + "/admin/callcenter")
            for name, label in (("fr", "Français"), ("tech", "Technique")):
                await admin.fill("#skill-form input[name=name]", name)
                await admin.fill("#skill-form input[name=label]", label)
                await admin.click("#skill-form button[type=submit]")
                await admin.wait_for_selector(f"#skills tr[data-skill={name}]")
            await admin.click("#queue-new")
            await admin.fill("#queue-fields input[name=name]", "support")
            await admin.fill("#queue-fields input[name=display_name]", "Support")
            await admin.fill("#queue-fields input[name=required_skills]", "fr:1")
            await admin.fill("#queue-fields input[name=numbers]", QUEUE_NUMBER)
            assert await admin.input_value("#queue-fields input[name=holidays]") == "FR"  # every field shown
            await admin.fill("#queue-fields input[name=holidays]", "")  # open on public holidays too
            await admin.click("#queue-form button[type=submit]")
            await admin.wait_for_selector("#cc-done:has-text('File support créée')")
            assert "support has 0 calls" in await asyncio.to_thread(queue_show, server)

            await admin.fill("#pause-form input[name=code]", "training")
            await admin.fill("#pause-form input[name=label]", "Formation")
            await admin.click("#pause-form button[type=submit]")
            await admin.wait_for_selector("#pause-codes tr[data-code=training]")

            # --- /admin/users: the agent and the supervisor (scope: the queue) --------------------
            await create_user(admin, base, "alice", "agent")
            await create_user(admin, base, "sophie", "supervisor", queues="support")
            assert "files : support" in await admin.text_content("tr[data-user=sophie]")

            # --- /admin/phones: a phone each, the password read where it is shown once -------------
            alice_phone = await issue_phone(admin, base, "alice")
            sophie_phone = await issue_phone(admin, base, "sophie")
            assert alice_phone["port"] == sophie_phone["port"] == str(info.sip_port)

            # --- /admin/callcenter: alice's level, the queue's wrap-up code ---------------------
            await admin.goto(base + "/admin/callcenter")
            await admin.fill("#levels tr[data-agent=alice] input[name=fr]", "5")
            await admin.click("#levels tr[data-agent=alice] button")
            await admin.wait_for_selector("#cc-done:has-text('Niveaux de alice enregistrés')")
            await admin.wait_for_selector("#wrapup-scope option[value='queue=support']", state="attached")
            await admin.select_option("#wrapup-scope", "queue=support")
            await admin.fill("#wrapup-form input[name=code]", "solved")
            await admin.fill("#wrapup-form input[name=label]", "Résolu")
            await admin.click("#wrapup-form button[type=submit]")
            await admin.wait_for_selector("#wrapup-codes li[data-code=solved]")

            # --- the softphones register with what the page showed ------------------------------
            quiet = silence(tmp_path / "silence.wav")
            agent_phone = SippPhone(
                server.instance, alice_phone["username"], alice_phone["password"], behaviour=Answer(audio=quiet)
            )
            sup_phone = SippPhone(
                server.instance,
                sophie_phone["username"],
                sophie_phone["password"],
                behaviour=Answer(audio=True, audio_seconds=60),
            )
            for phone in (agent_phone, sup_phone):
                phones.append(phone)
                await phone.start()
                await phone.wait_registered()
            await admin.goto(base + "/admin/phones")
            assert await admin.get_attribute("tr[data-username=alice]", "data-registered") == "yes"

            # --- the agent's desk: log in, the call arrives -------------------------------------
            desk = await new_page()
            await log_in(desk, base, "alice", PASSWORD)
            await desk.goto(base + "/agent")
            await desk.wait_for_function("() => document.body.dataset.live === 'yes'")
            await desk.click("#btn-login")
            await desk.wait_for_selector("#state[data-state=available]", timeout=10_000)
            assert "(dynamic)" in await asyncio.to_thread(queue_show, server)

            caller = SippCaller(
                server.instance, QUEUE_NUMBER, caller="0612345678", audio=True, talk_seconds=None, max_seconds=90
            )
            callers.append(caller)
            await caller.start()
            await desk.wait_for_selector("#state[data-state=on_call]", timeout=15_000)
            await caller.wait_answered(5)

            # the agent pauses with the new code (for after this call) from the desk
            options = await desk.eval_on_selector_all("#pause-select option", "os => os.map(o => o.value)")
            assert options == ["training"]
            await desk.select_option("#pause-select", "training")
            await desk.click("#btn-pause")
            await until(
                lambda: asyncio.to_thread(lambda: "paused:training" in queue_show(server)),
                10,
                "alice paused in Asterisk",
            )

            # --- the supervisor listens from the wallboard --------------------------------------
            board = await new_page()
            await log_in(board, base, "sophie", PASSWORD)
            await board.goto(base + "/wallboard")
            await board.wait_for_function("() => document.body.dataset.live === 'yes'")
            heard_by_sup = RtpCapture(sup_phone._run.media_port).start()
            heard_by_caller = RtpCapture(caller._run.media_port).start()
            try:
                await board.click("#agents tr[data-agent=alice] button:has-text('Écouter')")
                await board.wait_for_selector("#spy-status:has-text('sophie → alice (listen)')", timeout=10_000)
                await sup_phone.wait_calls("answered", 1, timeout=10)
                listening_from = time.monotonic()
                # three seconds of the call's audio reached the supervisor's phone
                await until(
                    lambda: sum(1 for at, _, _ in heard_by_sup.packets if at > listening_from + 0.5) >= 150,
                    15,
                    "3 s of RTP at the supervisor's phone",
                )
                window = (listening_from + 0.5, time.monotonic())
            finally:
                heard_by_sup.stop()
                heard_by_caller.stop()
            assert heard_by_sup.rms(*window) > SPEECH  # the caller's voice
            assert heard_by_caller.rms(*window) < SPEECH  # listening is silent: the caller hears the quiet agent

            await board.click('#agents tr[data-agent=alice] button:has-text("Raccrocher l\'écoute")')
            await sup_phone.wait_for(lambda: sup_phone.calls_ended == 1, 10, "supervisor leg ended")
            # the agent hangs up (their phone's channel ended, as test_supervision does): paused
            await asyncio.to_thread(agent_phone._hangup_channels)
            assert (await caller.wait(timeout=10)).answered
            await desk.wait_for_selector("#state[data-state=paused]", timeout=15_000)
            assert "training" in await desk.text_content("#pause-reason")

            # --- the dialplan: a new number typed in the editor, applied, called, rolled back ---
            await admin.goto(base + "/admin/dialplans")
            await admin.locator(".CodeMirror-code", has_text="exten => probe").wait_for()
            assert (await admin.text_content("#running-version")).strip() == "v1"
            await admin.click(".CodeMirror-code")
            await admin.keyboard.press("Control+End")
            await admin.keyboard.press("Enter")
            await admin.keyboard.type(TYPED)
            await admin.click("#dialplan-check")
            await admin.locator("#dialplan-status", has_text="aucun problème").wait_for(timeout=30_000)
            await admin.fill("#dialplan-comment", f"numéro {NEW_NUMBER}")
            await admin.click("#dialplan-save")
            await admin.wait_for_selector("tr[data-version='2'] .version-apply", timeout=30_000)
            await admin.click("tr[data-version='2'] .version-apply")
            await admin.locator("#running-version", has_text="v2").wait_for(timeout=30_000)

            answered = await SippCaller(server.instance, NEW_NUMBER, caller="0611111111", max_seconds=20).run()
            assert answered.answered, answered

            await admin.click("tr[data-version='1'] .version-apply")  # "Revenir à cette version"
            await admin.locator("#running-version", has_text="v1").wait_for(timeout=30_000)
            gone = await SippCaller(server.instance, NEW_NUMBER, caller="0611111112", max_seconds=20).run()
            assert not gone.answered and gone.status == 404, gone
            assert errors == []
        print(f"first day: {time.monotonic() - started:.1f} s")
    finally:
        for party in [*callers, *phones]:
            await party.stop()
        server.cleanup()
