"""The pieces under the API's access checks: the core password driver, bits arithmetic, lock levels."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nebula_core.drivers.auth import InvalidPassword
from nebula_core.drivers.vmm import DriverContext
from nebula_core.errors import ApiError
from nebula_core.passwords import CorePasswords, hash_password
from nebula_core.permissions import Level, LockLevel, allows, chmod, octal
from nebula_core.users import Principal


@pytest.fixture(scope="module")
def core() -> CorePasswords:
    return CorePasswords(DriverContext(var_dir=Path("/nonexistent")))


def test_core_driver_accepts_only_the_right_password(core: CorePasswords) -> None:
    stored = core.stored_form("s3cret")
    assert "s3cret" not in stored and stored.startswith("pbkdf2_sha256$")
    assert core.stored_form("s3cret") != stored  # salted
    assert core.authenticate("alice", "s3cret", stored)
    assert not core.authenticate("alice", "s3cret ", stored)
    assert not core.authenticate("alice", "", stored)
    assert not core.authenticate("ghost", "s3cret", None)
    for broken in ("", "plain", "pbkdf2_sha256$x$zz$00", "md5$1$00$00", "pbkdf2_sha256$999999999$00$00"):
        assert not core.authenticate("alice", "s3cret", broken)


def test_core_driver_refuses_empty_and_huge_passwords(core: CorePasswords) -> None:
    with pytest.raises(InvalidPassword, match="must not be empty"):
        core.stored_form("")
    with pytest.raises(InvalidPassword, match="at most"):
        core.stored_form("x" * 5000)


def test_unknown_user_costs_a_hash_too(core: CorePasswords) -> None:
    """No timing oracle: an unknown user or an unreadable hash runs the same PBKDF2 as a real check."""
    stored = hash_password("pw")

    def best_of(secret: str, stored_form: str | None) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            core.authenticate("u", secret, stored_form)
            times.append(time.perf_counter() - start)
        return min(times)

    right, unknown, garbage = best_of("pw", stored), best_of("pw", None), best_of("pw", "garbage")
    assert unknown > right / 3 and garbage > right / 3, (right, unknown, garbage)


def test_chmod_applies_nine_keep_or_set_values() -> None:
    assert chmod(0o600, [-1, -1, -1, 1, -1, -1, 1, -1, -1]) == 0o644
    assert chmod(0o777, [0] * 9) == 0
    assert chmod(0o600, [-1] * 9) == 0o600
    with pytest.raises(ApiError):
        chmod(0o600, [2] + [-1] * 8)
    with pytest.raises(ApiError):
        chmod(0o600, [-1] * 8)
    assert octal("640") == [1, 1, 0, 1, 0, 0, 0, 0, 0]
    with pytest.raises(ValueError):
        octal("680")


def test_admins_pass_and_others_need_a_bit() -> None:
    admin = Principal(5, 100, "ops", frozenset({100, 0}))
    alice = Principal(2, 100, "alice", frozenset({100}))
    assert allows(admin, 9, 9, 0o000, Level.ADMIN)
    assert not allows(alice, 2, 7, 0o070, Level.USE)  # her own object, but the owner digit is 0
    assert allows(alice, 2, 100, 0o070, Level.ADMIN)  # ... and the group digit is hers
    assert allows(alice, 9, 100, 0o040, Level.USE) and not allows(alice, 9, 100, 0o040, Level.MANAGE)
    assert allows(alice, 9, 7, 0o004, Level.USE) and not allows(alice, 9, 7, 0o040, Level.USE)


def test_lock_levels_refuse_from_their_level_up() -> None:
    assert LockLevel.USE.refuses == {Level.USE, Level.MANAGE, Level.ADMIN} == LockLevel.ALL.refuses
    assert LockLevel.MANAGE.refuses == {Level.MANAGE, Level.ADMIN}
    assert LockLevel.ADMIN.refuses == {Level.ADMIN}
    assert LockLevel.NONE.refuses == frozenset()
