"""The live Asterisk's dialplan over AMI, for the dialplans capability: reload it (Reload of
pbx_config, class system), list the contexts loaded (ShowDialPlan, class reporting) and place
the health probe (an asynchronous Originate of a Local channel, never a synchronous one: AMI
runs a session's actions one after the other, a 30 s Originate would hold every other command;
its end is the OriginateResponse event of the same ActionID)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from ...core.errors import CcError
from .ami import AmiLink

PROBE_PREFIX = "ccs-dialplan-probe-"
# AST_CONTROL_* codes of OriginateResponse's Reason
_REASONS = {0: "failed (no such extension?)", 1: "hung up", 3: "no answer", 5: "busy", 8: "congestion"}


class AmiDialplan:
    def __init__(self, ami: AmiLink) -> None:
        self.ami = ami
        self._probes: dict[str, asyncio.Future[dict[str, str]]] = {}
        ami.manager.register_event("OriginateResponse", self._originate_response)

    def _originate_response(self, manager: Any, message: Any) -> None:
        future = self._probes.get(str(message.get("ActionID", "")))
        if future is not None and not future.done():
            future.set_result({"response": str(message.get("Response", "")), "reason": str(message.get("Reason", ""))})

    async def reload_dialplan(self) -> None:
        await self.ami.reload("pbx_config.so")

    async def loaded_contexts(self) -> set[str]:
        entries = await self.ami.list_action({"Action": "ShowDialPlan"})
        return {e["context"] for e in entries if e.get("context")}

    async def probe(self, channel: str, timeout: float) -> str | None:
        action_id = PROBE_PREFIX + secrets.token_hex(6)
        future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._probes[action_id] = future
        try:
            await self.ami.send(
                {
                    "Action": "Originate",
                    "Channel": channel,
                    "Application": "Wait",
                    "Data": "1",
                    "Timeout": int(timeout * 1000),
                    "Async": "true",
                    "ActionID": action_id,
                }
            )
            result = await asyncio.wait_for(future, timeout + 2)
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except CcError as exc:
            return exc.message
        finally:
            self._probes.pop(action_id, None)
        if result["response"] == "Success":
            return None
        reason = int(result["reason"]) if result["reason"].isdigit() else -1
        return f"not answered: {_REASONS.get(reason, f'reason {reason}')}"
