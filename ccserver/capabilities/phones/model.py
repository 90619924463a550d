"""What a softphone needs, as text: pure rules, no I/O.

A phone is a SIP account of a user (the `agents` table row; see capabilities/acd/model.py for
how it becomes a PJSIP endpoint with digest-only credentials). Its password is generated, shown
once with the server's address, port and transport, and as provisioning for two softphones:
Linphone (its remote-provisioning XML, which the QR code points to) and Zoiper (the fields of
its manual account form, as text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ...core.errors import InvalidInput
from ...core.text import Text
from ..acd.model import SIP_REALM, SIP_USER_RE

USERNAME_RE = re.compile(r"^[a-z0-9._-]{2,32}$")  # the users table's alphabet
TRANSPORTS = ("udp", "tcp")
REGISTER_EXPIRES = 300  # seconds: what the provisioning asks phones to re-register within


@dataclass(frozen=True)
class PhoneLine:
    """A user and the state of their phone: ``sip_username`` is "" when they have none."""

    username: str
    display_name: str
    role: str
    sip_username: str = ""

    @property
    def has_phone(self) -> bool:
        return bool(self.sip_username)

    def to_dict(self) -> dict:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "has_phone": self.has_phone,
            "sip_username": self.sip_username,
        }


@dataclass(frozen=True)
class PhoneServer:
    """Where phones register: host (IP or name), SIP port and transport."""

    host: str
    port: int
    transport: str = "udp"

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^[0-9A-Fa-f:.]{2,45}$")


def host_or_default(host: str, default: str = "127.0.0.1") -> str:
    """A host name or IP address to hand to phones; `default` for anything else."""
    return host if isinstance(host, str) and _HOST_RE.match(host) else default


def check_username(username: object) -> str:
    """A user name from a URL, a form or the command line; InvalidInput naming ``username``."""
    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise InvalidInput("a username is 2 to 32 characters among a-z 0-9 . _ -", field="username")
    return username


def sip_username_for(username: str) -> str:
    """The SIP user name of `username`'s phone (dots become dashes: some phones dislike them in
    a SIP user); InvalidInput naming ``username`` when it cannot be one (it must start with a
    letter: it is also a dialplan extension)."""
    sip = check_username(username).replace(".", "-")
    if not SIP_USER_RE.match(sip):
        raise InvalidInput(
            Text("%(username)r cannot be a SIP user name: it must start with a letter", username=username),
            field="username",
        )
    return sip


@dataclass(frozen=True)
class SoftphoneSettings:
    """Everything a softphone needs to register, the password included: shown once."""

    server: PhoneServer
    sip_username: str
    password: str
    display_name: str = ""
    realm: str = SIP_REALM

    def to_dict(self) -> dict:
        return {
            "server": self.server.host,
            "port": self.server.port,
            "transport": self.server.transport,
            "username": self.sip_username,
            "password": self.password,
            "realm": self.realm,
            "display_name": self.display_name,
        }

    def sip_uri(self) -> str:
        return f"sip:{self.sip_username}@{self.server.hostport}"

    def zoiper_text(self) -> str:
        """The fields of Zoiper's manual account form (Settings > Accounts > Add > Manual, SIP)."""
        return "\n".join(
            [
                "Zoiper — SIP account (manual configuration)",
                f"Username: {self.sip_username}@{self.server.hostport}",
                f"Password: {self.password}",
                f"Hostname / domain: {self.server.hostport}",
                f"Authentication username: {self.sip_username}",
                f"Transport: {self.server.transport.upper()}",
                f"Display name: {self.display_name or self.sip_username}",
            ]
        )

    def linphone_xml(self) -> str:
        """Linphone's remote-provisioning document (lpconfig XML): one account, its password."""

        def entry(name: str, value: object) -> str:
            return f'    <entry name="{name}" overwrite="true">{escape(str(value))}</entry>'

        name = self.display_name.replace('"', "").replace("\\", "") or self.sip_username
        proxy = f"<sip:{self.server.hostport};transport={self.server.transport}>"
        return "\n".join(
            [
                '<?xml version="1.0" encoding="UTF-8"?>',
                '<config xmlns="http://www.linphone.org/xsds/lpconfig.xsd"'
                ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                ' xsi:schemaLocation="http://www.linphone.org/xsds/lpconfig.xsd lpconfig.xsd">',
                '  <section name="proxy_0">',
                entry("reg_identity", f'"{name}" <{self.sip_uri()}>'),
                entry("reg_proxy", proxy),
                entry("reg_route", proxy),
                entry("reg_expires", REGISTER_EXPIRES),
                entry("reg_sendregister", 1),
                entry("realm", self.realm),
                "  </section>",
                '  <section name="auth_info_0">',
                entry("username", self.sip_username),
                entry("userid", self.sip_username),
                entry("passwd", self.password),
                entry("realm", self.realm),
                entry("domain", self.server.host),
                "  </section>",
                "</config>",
                "",
            ]
        )
