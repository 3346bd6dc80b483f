"""Users, groups and sessions: who is calling, proved by an auth driver or a login token.

A session string is ``user:password`` or ``user:token``. Checking a password costs a
deliberately slow hash, so verified sessions are cached for a short time; anything that changes
who a user is (password, groups, deletion, disabling, a revoked token) drops its entries, so the
change holds from the next call. A wrong password takes as long as a right one (the driver's
contract), and repeated failures for one name are logged with their count.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .db import Database, Group, LoginToken, Membership, User, existing
from .drivers.auth import AuthDriver, InvalidPassword
from .drivers.manager import DriverManager, UnknownDriver
from .errors import ActionError, ApiError, AuthenticationError, InternalError

log = logging.getLogger(__name__)

ONEADMIN_GROUP, USERS_GROUP = 0, 1
FIRST_USER_GROUP = 100  # as oned: ids below are system groups, never deleted
DEFAULT_AUTH = "core"
MAX_NAME = 128
TOKEN_BYTES = 32
LOG_EVERY_FAILURE_UNTIL = 5  # then every 10th, so a guessing attack cannot flood the log


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, its effective primary group and every group it acts in."""

    uid: int
    gid: int
    name: str
    groups: frozenset[int]

    @property
    def is_admin(self) -> bool:
        """oneadmin and members of the oneadmin group bypass the permission bits, as in OpenNebula."""
        return self.uid == 0 or ONEADMIN_GROUP in self.groups


def valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and not any(c in name for c in " :\t\n\r\x00")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def group_ids(session: Session, uid: int) -> frozenset[int]:
    return frozenset(session.scalars(select(Membership.group_id).where(Membership.user_id == uid)))


class Authenticator:
    """Turns a session string into a Principal, or refuses with AUTHENTICATION."""

    def __init__(self, db: Database, drivers: DriverManager[AuthDriver], cache_seconds: float) -> None:
        self.db = db
        self.drivers = drivers
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._failures: Counter[str] = Counter()
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
        principal, cacheable = self._verify(name, secret)
        with self._lock:
            if principal is None:
                self._failures[name[:MAX_NAME]] += 1
                count = self._failures[name[:MAX_NAME]]
            else:
                self._failures.pop(name, None)
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[session_string] = (principal, now + cacheable)
        if principal is None:
            if count <= LOG_EVERY_FAILURE_UNTIL or count % 10 == 0:
                log.warning("authentication failed for user %r (failure %d in a row)", name[:64], count)
            raise AuthenticationError("User couldn't be authenticated, aborting call.")
        return principal

    def _verify(self, name: str, secret: str) -> tuple[Principal | None, float]:
        """Who the session is, and for how many seconds that answer may be cached: never past the
        expiry of the login token it was proved with."""
        groups: frozenset[int] = frozenset()
        token: LoginToken | None = None
        with self.db.read() as session:
            user = session.scalars(select(User).where(User.name == name)).first() if valid_name(name) else None
            if user is not None:
                groups = group_ids(session, user.id)
                token = session.scalars(select(LoginToken).where(
                    LoginToken.user_id == user.id, LoginToken.digest == token_digest(secret))).first()
        if user is not None and user.enabled and token is not None and (token.expires == -1 or token.expires > time.time()):
            lifetime = self.cache_seconds if token.expires == -1 else min(self.cache_seconds, token.expires - time.time())
            if token.egid >= 0:
                return Principal(user.id, token.egid, user.name, frozenset({token.egid})), lifetime
            return Principal(user.id, user.gid, user.name, groups), lifetime
        driver = self._driver(user.auth_driver if user is not None else DEFAULT_AUTH)
        ok = driver.authenticate(name, secret, user.password if user is not None else None)
        if not ok or user is None or not user.enabled:
            return None, 0.0
        return Principal(user.id, user.gid, user.name, groups), self.cache_seconds

    def _driver(self, name: str) -> AuthDriver:
        try:
            return self.drivers.get(name)
        except UnknownDriver:
            log.error("users with AUTH_DRIVER %r cannot log in: no such driver is installed", name)
            return self.drivers.get(DEFAULT_AUTH)  # still spend the time, then refuse below

    def installed(self, driver_name: str) -> AuthDriver:
        """The driver a user may be given; an unknown name is an ACTION error listing the installed ones."""
        try:
            return self.drivers.get(driver_name)
        except UnknownDriver as exc:
            raise ActionError(f"Invalid AUTH_DRIVER: {exc}") from None

    def stored_form(self, driver_name: str, password: str) -> str:
        """What to keep for a new password of a user of ``driver_name``; refusals are ACTION errors."""
        try:
            return self.installed(driver_name).stored_form(password)
        except InvalidPassword as exc:
            raise ActionError(str(exc)) from None

    def forget(self, uid: int) -> None:
        """Drop cached sessions of a user whose password, groups or tokens changed, or who was deleted."""
        with self._lock:
            for key in [k for k, (p, _) in self._cache.items() if p.uid == uid]:
                del self._cache[key]


def bootstrap(db: Database, one_auth: Path, stored_form: Callable[[str], str]) -> str | None:
    """On an empty database create the groups and ``oneadmin``; return where its credentials are.

    An existing ``one_auth`` file naming oneadmin is honoured (as oned does); otherwise a random
    password is written there, readable by its owner only. ``stored_form`` is the core auth
    driver's: what to keep instead of the password.
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
        session.add(User(id=0, name="oneadmin", password=stored_form(password), gid=ONEADMIN_GROUP))
        session.flush()
        session.add(Membership(user_id=0, group_id=ONEADMIN_GROUP))
        _reserve(db, session, "user", 2)  # 0 oneadmin, 1 kept free (oned's serveradmin)
        _reserve(db, session, "group", FIRST_USER_GROUP)
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


def get(session: Session, uid: int) -> User:
    return existing(session, User, uid, "user")


def get_group(session: Session, gid: int) -> Group:
    return existing(session, Group, gid, "group")


def create(db: Database, session: Session, name: str, stored_password: str, driver: str, gids: list[int]) -> User:
    """A new user in ``gids`` (the first is its primary group; none means ``users``)."""
    if not valid_name(name):
        raise InternalError(f"Invalid NAME: user names are 1-{MAX_NAME} characters without blanks or ':'.")
    taken = session.scalars(select(User.id).where(User.name == name)).first()
    if taken is not None:
        raise InternalError(f"NAME is already taken by USER {taken}.")
    gids = list(dict.fromkeys(gids)) or [USERS_GROUP]
    for gid in gids:
        get_group(session, gid)
    user = User(id=db.next_id(session, "user"), name=name, password=stored_password, gid=gids[0], auth_driver=driver)
    session.add(user)
    session.flush()
    session.add_all(Membership(user_id=user.id, group_id=gid) for gid in gids)
    return user


def change_group(session: Session, user: User, gid: int) -> None:
    """Make ``gid`` the primary group; the old primary group is left, secondary ones stay."""
    get_group(session, gid)
    session.execute(delete(Membership).where(Membership.user_id == user.id, Membership.group_id.in_({user.gid, gid})))
    user.gid = gid
    session.add(Membership(user_id=user.id, group_id=gid))


def add_group(session: Session, user: User, gid: int) -> None:
    get_group(session, gid)
    if session.get(Membership, (user.id, gid)) is None:
        session.add(Membership(user_id=user.id, group_id=gid))


def remove_group(session: Session, user: User, gid: int) -> None:
    if gid == user.gid:
        raise ActionError("Cannot remove user from the primary group.")
    get_group(session, gid)
    if session.get(Membership, (user.id, gid)) is None:
        raise ActionError(f"User [{user.id}] is not in group [{gid}].")
    session.execute(delete(Membership).where(Membership.user_id == user.id, Membership.group_id == gid))


def issue_token(session: Session, user: User, token: str, valid_seconds: int, egid: int) -> str:
    """``one.user.login``: create (token "" → a random one), or revoke with ``valid_seconds`` 0."""
    if valid_seconds == 0:
        stmt = delete(LoginToken).where(LoginToken.user_id == user.id)
        if token:
            stmt = stmt.where(LoginToken.digest == token_digest(token))
        session.execute(stmt)
        return token or "revoked"
    if valid_seconds < -1:
        raise ApiError("Wrong valid time: a number of seconds > 0, -1 (no expiry) or 0 (revoke).")
    if egid != -1 and egid not in group_ids(session, user.id):
        raise ApiError("EGID is not in user group list")
    token = token or secrets.token_hex(TOKEN_BYTES)
    if len(token) > 512 or any(c in token for c in ":\n\r\x00"):
        raise ApiError("Invalid token: at most 512 characters, without ':' or line breaks.")
    digest = token_digest(token)
    if session.scalars(select(LoginToken.id).where(LoginToken.digest == digest)).first() is not None:
        raise ActionError("Invalid token: it is already in use.")
    expires = -1 if valid_seconds == -1 else int(time.time()) + valid_seconds
    session.add(LoginToken(user_id=user.id, digest=digest, expires=expires, egid=egid))
    return token
