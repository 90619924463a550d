"""What a softphone is given: settings, Linphone's provisioning XML, Zoiper's text; SIP names."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ccserver.capabilities.acd.model import AgentAccount, render_pjsip_agents
from ccserver.capabilities.phones.model import PhoneServer, SoftphoneSettings, host_or_default, sip_username_for
from ccserver.core.errors import InvalidInput

NS = "{http://www.linphone.org/xsds/lpconfig.xsd}"


def entries(xml: str) -> dict[str, dict[str, str]]:
    root = ET.fromstring(xml)
    return {
        section.get("name"): {e.get("name"): e.text for e in section.iter(f"{NS}entry")}
        for section in root.iter(f"{NS}section")
    }


def test_linphone_xml_carries_the_account_with_its_values_escaped():
    softphone = SoftphoneSettings(PhoneServer("pbx.example", 5070), "sophie", 'a<b&c>"d', 'Sophie "S" <x>')
    found = entries(softphone.linphone_xml())
    assert found["auth_info_0"] == {
        "username": "sophie",
        "userid": "sophie",
        "passwd": 'a<b&c>"d',
        "realm": "ccserver",
        "domain": "pbx.example",
    }
    assert found["proxy_0"]["reg_proxy"] == "<sip:pbx.example:5070;transport=udp>"
    assert found["proxy_0"]["reg_identity"] == '"Sophie S <x>" <sip:sophie@pbx.example:5070>'
    assert found["proxy_0"]["reg_sendregister"] == "1"


def test_zoiper_text_and_settings_name_server_port_transport_user_and_password():
    softphone = SoftphoneSettings(PhoneServer("2001:db8::1", 5060), "agent-1", "secret-pw", "Agent")
    text = softphone.zoiper_text()
    assert "Username: agent-1@[2001:db8::1]:5060" in text
    assert "Password: secret-pw" in text and "Transport: UDP" in text
    assert softphone.to_dict() == {
        "server": "2001:db8::1",
        "port": 5060,
        "transport": "udp",
        "username": "agent-1",
        "password": "secret-pw",
        "realm": "ccserver",
        "display_name": "Agent",
    }


def test_sip_user_names_come_from_the_username_or_are_refused_naming_the_field():
    assert sip_username_for("jean.dupont") == "jean-dupont"
    for bad in ("7seven", "Bad Name", "a\nb", "x", "${x}", ""):
        with pytest.raises(InvalidInput) as error:
            sip_username_for(bad)
        assert error.value.details["field"] == "username"


def test_a_display_name_cannot_inject_pjsip_configuration():
    account = AgentAccount("eve", 'Eve"\n[evil]\ntype=endpoint ;<x>', "eve", "pw-123456789")
    conf = render_pjsip_agents([account])
    assert "[evil]" not in conf.splitlines()
    assert 'callerid = "Eve[evil]type=endpoint x" <eve>' in conf


def test_only_a_host_name_or_an_address_is_handed_to_phones():
    assert host_or_default("pbx.example.org") == "pbx.example.org"
    assert host_or_default("2001:db8::1") == "2001:db8::1"
    for bad in ("", "a b", "x\r\nInjected: 1", "<svg>", "h;transport=tcp"):
        assert host_or_default(bad) == "127.0.0.1"
