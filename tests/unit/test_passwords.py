"""ccserver.core.passwords: scrypt hashes in a self-describing format."""

from __future__ import annotations

import pytest

from ccserver.core.passwords import SCRYPT_N, hash_password, needs_rehash, verify_dummy, verify_password


def test_hash_verifies_only_the_same_password():
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)


def test_hash_is_self_describing_and_salted():
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second
    scheme, n, r, p, salt, digest = first.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", SCRYPT_N, 8, 1)
    assert salt and digest


def test_unicode_password():
    stored = hash_password("pâte à crêpes ☎")
    assert verify_password("pâte à crêpes ☎", stored)
    assert not verify_password("pate a crepes ☎", stored)


def test_old_parameters_need_rehash_but_still_verify():
    old = hash_password("pw", n=2**10)
    assert verify_password("pw", old)
    assert needs_rehash(old)
    assert not needs_rehash(hash_password("pw"))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$2b$12$abc",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$1024$8$1$!!$AAAA",
        "scrypt$1000$8$1$AAAA$AAAA",  # n not a power of two
        "scrypt$1073741824$8$1$AAAA$AAAA",  # absurd cost: refused, not computed
        "scrypt$1024$8$1$AAAA$",
    ],
)
def test_unusable_hash_never_verifies(stored):
    assert verify_password("pw", stored) is False
    assert needs_rehash(stored)


def test_dummy_verification_is_always_false():
    assert verify_dummy("anything") is False
