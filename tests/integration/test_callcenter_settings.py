"""Call-center settings on the real Asterisk: a new skill level changes a logged-in agent's
penalty at once (no reload, no re-login), and a queue setting Asterisk does not take leaves the
old settings running and the database as it was."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ccserver.capabilities.acd import service as acd_service
from ccserver.capabilities.acd.errors import QueueSettingRefused
from tests.integration.test_inbound import log_in, queue_members, setup_call_center, start_phones
from tests.support.server import Server, endpoint_of, until

pytestmark = pytest.mark.asterisk


async def test_levels_change_the_penalty_live_and_a_refused_queue_setting_keeps_the_old_one(
    asterisk, tmp_path, monkeypatch
):
    info = asterisk.info
    async with Server(tmp_path, endpoint_of(info), config_writer=asterisk, asterisk={"sip_port": info.sip_port}) as srv:
        rt = srv.runtime
        accounts = await setup_call_center(srv, strategy="rrmemory")
        phones = await start_phones(asterisk, {"alice": accounts["alice"]})
        try:
            await log_in(rt, "alice")
            members = await queue_members(rt)
            assert members["PJSIP/alice"]["penalty"] == "1"  # fr:9 -> 10 - 9

            result = await rt.callcenter.set_levels("alice", {"fr": 4, "tech": 7}, "admin")
            assert result["penalties"] == {"support": 6}
            members = await queue_members(rt)
            assert members["PJSIP/alice"]["penalty"] == "6"  # Asterisk runs the new penalty now
            assert rt.agent_board.agents["alice"].queues == {"support"}  # still logged in

            # a reload Asterisk refuses (here: the file it is given does not parse, as a setting
            # app_queue cannot read would): the old settings keep running, nothing is stored
            before = await rt.acd.queue("support")
            assert (await rt.pbx.ami.queue_params())["support"]["strategy"] == "rrmemory"
            real_render = acd_service.render_queues

            def unreadable_when_max_callers_is_7(queues, media=None):
                text = real_render(queues, media)
                return "[unterminated\n" + text if any(q.max_callers == 7 for q in queues) else text

            monkeypatch.setattr(acd_service, "render_queues", unreadable_when_max_callers_is_7)
            changed = replace(before, strategy="leastrecent", max_callers=7)
            with pytest.raises(QueueSettingRefused) as err:
                await rt.acd.update_queue(changed, "admin")
            assert "previous settings are running" in err.value.message
            running = (await rt.pbx.ami.queue_params())["support"]
            assert (running["strategy"], running["max"]) == ("rrmemory", "0")  # the old settings run
            assert await rt.acd.queue("support") == before  # nothing stored
            on_disk = (asterisk.instance_dir / "etc" / "queues_generated.conf").read_text()
            assert "strategy = rrmemory" in on_disk and "[unterminated" not in on_disk  # old file back
            # the refused reload dropped the members: they are put back as they were
            await until(lambda: rt.agent_board.agents["alice"].queues == {"support"}, 5)
            assert (await queue_members(rt))["PJSIP/alice"]["penalty"] == "6"
            assert rt.audit.list(action="queue.update") == []
            monkeypatch.setattr(acd_service, "render_queues", real_render)

            # a setting it takes is running and stored
            accepted = replace(before, strategy="leastrecent", max_callers=7, service_level_seconds=45)
            await rt.acd.update_queue(accepted, "admin")
            running = (await rt.pbx.ami.queue_params())["support"]
            assert (running["strategy"], running["max"], running["servicelevel"]) == ("leastrecent", "7", "45")
            assert (await rt.acd.queue("support")).max_callers == 7
            assert (await queue_members(rt))["PJSIP/alice"]["penalty"] == "6"  # a reload keeps members
        finally:
            for phone in phones.values():
                await phone.stop()
