"""The authentication driver interface: prove who is calling (a user's ``AUTH_DRIVER``).

The core keeps the user table; a driver only says what to store for a new password and whether
a secret proves a user. ``core`` (salted PBKDF2 hashes, in ``nebula_core.passwords``) is the
default; a plugin registers others under the ``nebula.auth`` entry-point namespace.

Both calls run on the API's request threads, so they must be thread-safe and must not block
for long (the daemon caches a verified session for ``auth.session_cache_seconds``).
"""

from __future__ import annotations

import abc

from .vmm import DriverContext


class InvalidPassword(ValueError):
    """A password the driver will not store; the message says why and reaches the user."""


class AuthDriver(abc.ABC):
    """Checks secrets for the users whose AUTH_DRIVER names this driver."""

    def __init__(self, context: DriverContext) -> None:
        self.driver_context = context

    @abc.abstractmethod
    def stored_form(self, password: str) -> str:
        """What the user table keeps for ``password``: never the password itself.

        Raise InvalidPassword for a password the driver refuses (empty, too long, ...).
        """

    @abc.abstractmethod
    def authenticate(self, username: str, secret: str, stored: str | None) -> bool:
        """Whether ``secret`` proves ``username``; ``stored`` is what stored_form gave, or None
        when no such user exists.

        A wrong secret, and an unknown user, must take as long as a right secret (no timing
        oracle): compare in constant time and do the same work when ``stored`` is None.
        Return False rather than raise for anything malformed.
        """
