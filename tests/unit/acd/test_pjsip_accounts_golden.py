"""The PJSIP sections of the agents' SIP accounts and of the browser phones come from one function
(acd.model.pjsip_account_lines): the generated files stay byte for byte what they were before it
(golden files written by the code before the change), for the demo's accounts and awkward names."""

from __future__ import annotations

import sys
from pathlib import Path

from ccserver.capabilities.acd.model import AgentAccount, render_pjsip_agents, sip_password_digests
from ccserver.capabilities.webrtc.model import WebrtcAccount, render_pjsip_webrtc
from ccserver.commands.demo import AGENTS

GOLDEN = Path(__file__).parent / "golden"
ODD_NAMES = (
    ("eve", 'Ève "la" <chef>; \\ fin\r\n[x]'),
    ("frank", "F" * 120),
)


def agent_accounts() -> list[AgentAccount]:
    accounts = [AgentAccount(u, d, u, sip_password=f"pw-{u}-0123456789") for u, d, _skills in AGENTS]
    accounts.append(AgentAccount("superviseur", "Sophie Superviseure", "superviseur", sip_password="pw-sup-0123456"))
    accounts += [AgentAccount(u, d, u, sip_digests=sip_password_digests(u, f"pw-{u}-x")) for u, d in ODD_NAMES]
    accounts.append(AgentAccount("nopass", "Sans mot de passe", "nopass"))  # left out, with a comment
    return accounts


def webrtc_accounts() -> list[WebrtcAccount]:
    names = [(u, d) for u, d, _skills in AGENTS] + list(ODD_NAMES)
    accounts = [WebrtcAccount.with_password(u, u, d, f"session-{u}") for u, d in names]
    accounts.append(WebrtcAccount("nodigest", "nodigest", "Sans empreinte", ()))  # left out
    return accounts


def test_agents_conf_is_unchanged():
    assert render_pjsip_agents(agent_accounts()) == (GOLDEN / "pjsip_agents.conf").read_text(encoding="utf-8")


def test_webrtc_conf_is_unchanged():
    assert render_pjsip_webrtc(webrtc_accounts()) == (GOLDEN / "pjsip_webrtc.conf").read_text(encoding="utf-8")


if __name__ == "__main__":  # rewrite the golden files (only with code known to be right)
    if "--write" in sys.argv:
        (GOLDEN / "pjsip_agents.conf").write_text(render_pjsip_agents(agent_accounts()), encoding="utf-8")
        (GOLDEN / "pjsip_webrtc.conf").write_text(render_pjsip_webrtc(webrtc_accounts()), encoding="utf-8")
