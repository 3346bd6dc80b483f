"""Users, passwords and sessions: salted hashes, a first-start admin, a cache of verified sessions.

A session string is ``user:password``. Checking a password costs a deliberately slow hash, so
verified sessions are cached for a short time; changing or deleting a user drops its entries.
A wrong password takes as long as a right one (the hash always runs, compare is constant-time).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Database, Group, User
from .errors import AuthenticationError, InternalError

log = logging.getLogger(__name__)

ITERATIONS = 60_000
ONEADMIN_GROUP, USERS_GROUP = 0, 1
_DUMMY_HASH = ""  # filled lazily: a hash to check against when the user does not exist


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations)).hex()
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    uid: int
    gid: int
    name: str

    @property
    def is_admin(self) -> bool:
        return self.uid == 0 or self.gid == ONEADMIN_GROUP


class Authenticator:
    def __init__(self, db: Database, cache_seconds: float) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, session_string: object) -> Principal:
        if not isinstance(session_string, str) or ":" not in session_string:
            raise AuthenticationError("User couldn't be authenticated, aborting call.")
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(session_string)
        if hit is not None and hit[1] > now:
            return hit[0]
        name, _, secret = session_string.partition(":")
        with self.db.read() as session:
            user = session.scalars(select(User).where(User.name == name)).first()
        ok = verify_password(secret, user.password if user else _dummy_hash())
        if user is None or not ok or not user.enabled:
            log.warning("authentication failed for user %r", name[:64])
            raise AuthenticationError("User couldn't be authenticated, aborting call.")
        principal = Principal(user.id, user.gid, user.name)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[session_string] = (principal, now + self.cache_seconds)
        return principal

    def forget(self, uid: int) -> None:
        """Drop cached sessions of a user whose password changed or who was deleted."""
        with self._lock:
            for key in [k for k, (p, _) in self._cache.items() if p.uid == uid]:
                del self._cache[key]


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


def bootstrap(db: Database, one_auth: Path) -> str | None:
    """On an empty database create the groups and ``oneadmin``; return where its credentials are.

    An existing ``one_auth`` file naming oneadmin is honoured (as oned does); otherwise a random
    password is written there, readable by its owner only.
    """
    with db.write() as session:
        if session.get(User, 0) is not None:
            return None
        password = _read_oneadmin_password(one_auth)
        if password is None:
            password = secrets.token_urlsafe(18)
            one_auth.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(one_auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(f"oneadmin:{password}\n")
        os.chmod(one_auth, 0o600)
        session.add_all([Group(id=ONEADMIN_GROUP, name="oneadmin"), Group(id=USERS_GROUP, name="users")])
        session.flush()
        session.add(User(id=0, name="oneadmin", password=hash_password(password), gid=ONEADMIN_GROUP))
        _reserve(db, session, "user", 1)
        _reserve(db, session, "group", 2)
    return str(one_auth)


def _reserve(db: Database, session: Session, kind: str, count: int) -> None:
    for _ in range(count):
        db.next_id(session, kind)


def _read_oneadmin_password(path: Path) -> str | None:
    try:
        line = path.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    name, sep, password = line.partition(":")
    return password if sep and name == "oneadmin" and password else None


def create(db: Database, session: Session, name: str, password: str, gid: int) -> User:
    if not name or len(name) > 128 or any(c in name for c in " :\t\n\r"):
        raise InternalError("Invalid NAME: user names are 1-128 characters without blanks or ':'.")
    if not password:
        raise InternalError("Invalid password: it must not be empty.")
    taken = session.scalars(select(User.id).where(User.name == name)).first()
    if taken is not None:
        raise InternalError(f"NAME is already taken by USER {taken}.")
    user = User(id=db.next_id(session, "user"), name=name, password=hash_password(password), gid=gid)
    session.add(user)
    return user
