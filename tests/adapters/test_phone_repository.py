"""The phones repository on SQLite and PostgreSQL: users with their phone state, a phone created
with only its password's digests stored, a new password, the errors naming the field."""

from __future__ import annotations

import pytest

from ccserver.adapters.db import UserRepository
from ccserver.adapters.db.acd import AcdRepository
from ccserver.adapters.db.phones import PhoneRepository
from ccserver.capabilities.acd.model import sip_password_digests
from ccserver.capabilities.admin.errors import NoSuchUser
from ccserver.capabilities.phones.errors import NoSuchPhone
from ccserver.capabilities.phones.model import PhoneLine
from ccserver.core.errors import Conflict


def test_phones_are_created_and_renewed_with_digests_only(database):
    users = UserRepository(database)
    users.create_user("nadia", "password-1234", role="supervisor", display_name="Nadia")
    users.create_user("jean.dupont", "password-1234", role="agent")
    users.create_user("gone", "password-1234", role="agent")
    users.update("gone", active=False)
    phones = PhoneRepository(database)
    assert phones.lines() == [
        PhoneLine("jean.dupont", "jean.dupont", "agent", ""),
        PhoneLine("nadia", "Nadia", "supervisor", ""),
    ]
    assert phones.create_phone("nadia", "nadia", "first-password-123") == PhoneLine(
        "nadia", "Nadia", "supervisor", "nadia"
    )
    acd = AcdRepository(database)
    assert dict(acd.agent("nadia").sip_digests) == sip_password_digests("nadia", "first-password-123")
    assert [a.sip_username for a in acd.sip_accounts()] == ["nadia"]  # rendered into pjsip_agents.conf
    phones.set_phone_password("nadia", "second-password-456")
    assert dict(acd.agent("nadia").sip_digests) == sip_password_digests("nadia", "second-password-456")

    with pytest.raises(Conflict) as taken:
        phones.create_phone("nadia", "nadia", "x-password-789")
    assert taken.value.details["field"] == "username"
    with pytest.raises(Conflict):  # another user cannot take the same SIP user
        phones.create_phone("jean.dupont", "nadia", "x-password-789")
    with pytest.raises(NoSuchPhone):
        phones.set_phone_password("jean.dupont", "x-password-789")
    for missing in ("nobody", "gone"):  # unknown, or disabled
        with pytest.raises(NoSuchUser) as error:
            phones.line(missing)
        assert error.value.details["field"] == "username"
    assert phones.line("jean.dupont").has_phone is False
