"""A minimal SIP REGISTER client answering the digest challenge with the algorithm a test picks
(MD5 or SHA-256, RFC 8760): sipp answers only the first challenge Asterisk offers, this one lets
a test prove each stored digest works on the real Asterisk. UDP, loopback, blocking (call it
through asyncio.to_thread)."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
from dataclasses import dataclass

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


@dataclass(frozen=True)
class RegisterResult:
    status: int  # the final answer to the authenticated REGISTER (or to the first one)
    offered: tuple[str, ...]  # algorithms of the WWW-Authenticate challenges, in order
    answered_with: str | None  # the algorithm used, None when none was usable


def _challenges(message: str) -> list[dict[str, str]]:
    found = []
    for line in message.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() != "www-authenticate":
            continue
        params = {
            k.lower(): v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', value.split("Digest", 1)[1])
        }
        params.setdefault("algorithm", "MD5")
        found.append(params)
    return found


def register(
    host: str, port: int, user: str, password: str, algorithm: str, expires: int = 60, timeout: float = 5.0
) -> RegisterResult:
    """REGISTER `user` at host:port, answering the `algorithm` challenge with `password`."""
    digest = HASHES[algorithm]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        local_port = sock.getsockname()[1]
        call_id, tag, uri = f"{secrets.token_hex(8)}@ccs-test", secrets.token_hex(4), f"sip:{host}:{port}"

        def send(cseq: int, authorization: str = "") -> tuple[int, str]:
            lines = [
                f"REGISTER {uri} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{secrets.token_hex(8)};rport",
                f"From: <sip:{user}@{host}:{port}>;tag={tag}",
                f"To: <sip:{user}@{host}:{port}>",
                f"Call-ID: {call_id}",
                f"CSeq: {cseq} REGISTER",
                f"Contact: <sip:{user}@127.0.0.1:{local_port}>",
                f"Expires: {expires}",
                "Max-Forwards: 70",
                "User-Agent: ccserver-test-digest",
            ]
            if authorization:
                lines.append(authorization)
            lines += ["Content-Length: 0", "", ""]
            sock.sendto("\r\n".join(lines).encode(), (host, port))
            while True:
                text = sock.recv(65535).decode("utf-8", "replace")
                status = int(text.split(" ", 2)[1])
                if status >= 200:
                    return status, text

        status, text = send(1)
        challenges = _challenges(text)
        offered = tuple(c["algorithm"].upper() for c in challenges)
        if status != 401:
            return RegisterResult(status, offered, None)
        challenge = next((c for c in challenges if c["algorithm"].upper() == algorithm), None)
        if challenge is None:
            return RegisterResult(status, offered, None)

        def h(text: str) -> str:
            return digest(text.encode("utf-8")).hexdigest()

        realm, nonce, cnonce, nc = challenge["realm"], challenge["nonce"], secrets.token_hex(8), "00000001"
        ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"REGISTER:{uri}")
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        authorization = (
            f'Authorization: Digest username="{user}",realm="{realm}",nonce="{nonce}",'
            f'uri="{uri}",response="{response}",algorithm={challenge["algorithm"]},'
            f'cnonce="{cnonce}",nc={nc},qop=auth'
        )
        if "opaque" in challenge:
            authorization += f',opaque="{challenge["opaque"]}"'
        status, _text = send(2, authorization)
        return RegisterResult(status, offered, challenge["algorithm"].upper())
