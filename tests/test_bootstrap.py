"""First start: oneadmin is created once, its credentials written where OpenNebula clients look."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from nebula_core.db import Database
from nebula_core.drivers.manager import Drivers
from nebula_core.drivers.vmm import DriverContext
from nebula_core.errors import AuthenticationError
from nebula_core.passwords import hash_password
from nebula_core.users import Authenticator, bootstrap


def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path}/n.db")
    db.migrate()
    return db


def authenticator(db: Database, tmp_path: Path) -> Authenticator:
    """The daemon's authenticator, with the auth drivers found by entry point (core among them)."""
    return Authenticator(db, Drivers.load(DriverContext(var_dir=tmp_path)).auth, 60)


def test_random_password_written_owner_only(tmp_path: Path) -> None:
    db = database(tmp_path)
    auth_file = tmp_path / ".one" / "one_auth"
    assert bootstrap(db, auth_file, hash_password) == str(auth_file)
    user, _, password = auth_file.read_text().strip().partition(":")
    assert user == "oneadmin" and len(password) >= 20
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert authenticator(db, tmp_path).authenticate(f"oneadmin:{password}").uid == 0
    assert bootstrap(db, auth_file, hash_password) is None  # only on an empty database
    assert auth_file.read_text().strip() == f"oneadmin:{password}"


def test_existing_one_auth_is_honoured(tmp_path: Path) -> None:
    db = database(tmp_path)
    auth_file = tmp_path / "one_auth"
    auth_file.write_text("oneadmin:my-own-secret\n")
    bootstrap(db, auth_file, hash_password)
    assert auth_file.read_text() == "oneadmin:my-own-secret\n"
    assert authenticator(db, tmp_path).authenticate("oneadmin:my-own-secret").name == "oneadmin"


def test_passwords_are_salted_hashes(tmp_path: Path) -> None:
    db = database(tmp_path)
    bootstrap(db, tmp_path / "one_auth", hash_password)
    password = (tmp_path / "one_auth").read_text().strip().partition(":")[2]
    with db.read() as session:
        from nebula_core.db import User

        stored = session.get(User, 0).password  # type: ignore[union-attr]
    assert password not in stored and stored.startswith("pbkdf2_sha256$")


def test_repeated_failures_are_logged_with_their_count(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = database(tmp_path)
    bootstrap(db, tmp_path / "one_auth", hash_password)
    auth = authenticator(db, tmp_path)
    caplog.set_level(logging.WARNING, logger="nebula_core.users")
    for _ in range(12):
        with pytest.raises(AuthenticationError):
            auth.authenticate("oneadmin:wrong")
    counts = [int(r.getMessage().split("(failure ")[1].split()[0]) for r in caplog.records]
    assert counts == [1, 2, 3, 4, 5, 10]  # every failure at first, then every tenth: guessing cannot flood the log
    password = (tmp_path / "one_auth").read_text().strip().partition(":")[2]
    assert auth.authenticate(f"oneadmin:{password}").uid == 0
    caplog.clear()
    with pytest.raises(AuthenticationError):
        auth.authenticate("oneadmin:wrong")
    assert "(failure 1 in a row)" in caplog.text  # a success starts the count again
