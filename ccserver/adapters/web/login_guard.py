"""What stands between a login form and the password check.

- the body is read up to `LOGIN_BODY_LIMIT` bytes (413 beyond) before anything is parsed, so
  the CSRF token and the credentials are checked on a few KiB at most;
- failed logins are throttled per account and per client address (`core.login_throttle`); a
  throttled attempt is answered 429 with Retry-After without spending a hash, and each lock
  is written to the audit log once;
- passwords are checked on a small bounded executor (`core.passwords.HashingPool`) instead of
  the default one the database calls share: when its queue is full the login is answered 503
  at once, and the event loop and every other page stay responsive;
- `safe_next` keeps the redirect after login on this site.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
import unicodedata
from dataclasses import replace
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web
from multidict import MultiDict

from ...core.errors import ConfigurationError, InvalidInput, PayloadTooLarge
from ...core.login_throttle import ACCOUNT_POLICY, ADDRESS_POLICY, Lock, LoginThrottle, Refusal
from ...core.passwords import HashingBusy, HashingPool
from ...core.text import Text
from .i18n import gettext as _
from .keys import AUDIT, CLOCK, SETTINGS, USERS

logger = logging.getLogger(__name__)

# a login form is three short fields and a token: a few hundred bytes
LOGIN_BODY_LIMIT = 4096
_FORM_TYPE = "application/x-www-form-urlencoded"
BUSY_RETRY_AFTER = 2


class LoginRefused(Exception):
    """A login answered without checking the password: `status` 429 or 503."""

    def __init__(self, status: int, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


class LoginGuard:
    def __init__(
        self,
        throttle: LoginThrottle,
        pool: HashingPool,
        trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    ) -> None:
        self.throttle = throttle
        self.pool = pool
        self.trusted_proxies = trusted_proxies
        self._busy_logged_at = 0.0
        self._busy_refusals = 0

    def client_address(self, request: web.Request) -> str:
        """The TCP peer, or behind a trusted reverse proxy the last address in X-Forwarded-For
        that is not itself a trusted proxy (earlier entries are the client's to forge)."""
        peer = request.remote or ""
        if not self.trusted_proxies or not _in(peer, self.trusted_proxies):
            return peer
        hops = [hop.strip() for value in request.headers.getall("X-Forwarded-For", []) for hop in value.split(",")]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # a garbled header: count the proxy rather than guess
            if not _in(hop, self.trusted_proxies):
                return hop
        return peer

    async def authenticate(self, request: web.Request, username: str, password: str):
        """The active user with that password, or None; raises `LoginRefused` when the
        attempt is throttled or every hashing slot is taken (no password checked then)."""
        users = request.app[USERS]
        address = self.client_address(request)
        refusal = self.throttle.admit(username, address)
        if refusal is not None:
            logger.debug(
                "login for %r from %s throttled (%s, %d s)", username, address, refusal.scope, refusal.retry_after
            )
            raise LoginRefused(429, throttled_message(refusal), refusal.retry_after)

        try:
            async with self.pool.slot():
                late = self.throttle.locked(username, address)  # a lock may have started meanwhile
                if late is not None:
                    raise LoginRefused(429, throttled_message(late), late.retry_after)
                # the lookup on the default executor, the hash alone on a (low-priority) hashing
                # thread: it never holds the GIL long enough to delay the event loop
                found = await asyncio.to_thread(users.find_for_login, username)
                user = await self.pool.call(users.check_password, found, password)
        except HashingBusy:
            self.throttle.abandoned(username, address)
            self._busy_refusals += 1
            now = time.monotonic()
            if now - self._busy_logged_at >= 10:  # a flood would fill the log: once per 10 s
                logger.warning(
                    "%d logins answered 503 since the last such warning: %d password checks already in flight",
                    self._busy_refusals,
                    self.pool.admitted,
                )
                self._busy_logged_at, self._busy_refusals = now, 0
            raise LoginRefused(
                503,
                _("Le serveur vérifie déjà de nombreuses connexions : réessayez dans quelques secondes."),
                BUSY_RETRY_AFTER,
            ) from None
        except BaseException:
            self.throttle.abandoned(username, address)
            raise
        if user is not None and user.active:
            self.throttle.succeeded(username, address)
            return user
        for lock in self.throttle.failed(username, address):
            await self._audit_lock(request.app[AUDIT], lock, address)
        return None

    @staticmethod
    async def _audit_lock(audit, lock: Lock, address: str) -> None:
        logger.warning(
            "login %s %r locked for %d s after %d failures (last from %s)",
            lock.scope,
            lock.key,
            lock.seconds,
            lock.failures,
            address,
        )
        try:
            await asyncio.to_thread(
                audit.record,
                "system",
                "login.lock",
                lock.key,
                scope=lock.scope,
                failures=lock.failures,
                seconds=lock.seconds,
                until=lock.until.isoformat(),
                remote=address,
            )
        except Exception:  # the lock holds even if the audit write failed; say so loudly
            logger.exception("could not write the login lock of %r to the audit log", lock.key)


def throttled_message(refusal: Refusal) -> str:
    """In the language of the request being served (French unless it asks for English)."""
    wait = refusal.retry_after
    if wait <= 1:
        delay = _("une seconde")
    elif wait < 120:
        delay = _("%(n)s secondes", n=wait)
    else:
        delay = _("%(n)s minutes", n=(wait + 59) // 60)
    return _(
        "Trop de tentatives de connexion échouées pour cet identifiant ou depuis cette "
        "adresse. Réessayez dans %(delay)s.",
        delay=delay,
    )


def _in(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


def parse_networks(text: str, field: str = "trusted_proxies"):
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigurationError(
                Text("setting %(field)r: %(part)r is not an address or network", field=field, part=part),
                field=field,
                value=part,
            ) from None
    return networks


LOGIN_GUARD: web.AppKey[LoginGuard] = web.AppKey("login_guard", LoginGuard)


def install(app: web.Application) -> LoginGuard:
    """Create the guard from the runtime's settings; its executor stops with the app."""
    settings = app[SETTINGS]
    for name in ("account_failures", "address_failures", "hash_queue"):
        if getattr(settings.login, name) < 0:
            raise ConfigurationError(Text("login.%(name)s: must be >= 0", name=name), field=f"login.{name}")
    if settings.login.hash_workers < 1:
        raise ConfigurationError("login.hash_workers: must be >= 1", field="login.hash_workers")
    throttle = LoginThrottle(
        app[CLOCK],
        account=replace(ACCOUNT_POLICY, lock_at=settings.login.account_failures),
        address=replace(ADDRESS_POLICY, lock_at=settings.login.address_failures),
    )
    guard = LoginGuard(
        throttle,
        HashingPool(settings.login.hash_workers, settings.login.hash_queue),
        parse_networks(settings.web.trusted_proxies),
    )
    app[LOGIN_GUARD] = guard

    async def stop_pool(_app: web.Application) -> None:
        guard.pool.shutdown()

    app.on_cleanup.append(stop_pool)
    return guard


async def read_login_form(request: web.Request) -> MultiDict[str]:
    """The fields of a login POST, read from at most `LOGIN_BODY_LIMIT` bytes (else 413)."""
    too_large = PayloadTooLarge(
        Text("a login form has at most %(LOGIN_BODY_LIMIT)s bytes", LOGIN_BODY_LIMIT=LOGIN_BODY_LIMIT),
        limit=LOGIN_BODY_LIMIT,
    )
    if request.content_length is not None and request.content_length > LOGIN_BODY_LIMIT:
        raise too_large
    if request.content_type != _FORM_TYPE:
        raise InvalidInput(
            Text("the login form is sent as %(FORM_TYPE)s", FORM_TYPE=_FORM_TYPE),
            field="Content-Type",
            value=request.content_type[:100],
        )
    body = bytearray()
    while True:  # a chunked body has no Content-Length: stop reading past the limit
        chunk = await request.content.read(LOGIN_BODY_LIMIT + 1 - len(body))
        if not chunk:
            break
        body += chunk
        if len(body) > LOGIN_BODY_LIMIT:
            raise too_large
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=16, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the login form is not valid UTF-8 form data", field="body") from None
    return MultiDict(pairs)


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else "" (go home).

    Browsers drop tab, CR and LF anywhere in a URL and read a backslash as a slash, so
    ``/\\t/evil.example`` or ``/\\evil.example`` leave the site as ``//evil.example``: any
    control or format character, whitespace other than a plain space, backslash, scheme, host
    or leading ``//`` (also once percent-decoded) is refused."""
    if not target or len(target) > 2000:
        return ""
    for candidate in (target, unquote(target)):
        if "\\" in candidate or any(_invisible(c) for c in candidate):
            return ""
        if not candidate.startswith("/") or candidate.startswith("//"):
            return ""
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return ""
    return target


def _invisible(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "C" or (char != " " and (category[0] == "Z" or char.isspace()))
