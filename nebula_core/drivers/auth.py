"""The authentication driver interface: prove who is calling (a user's ``AUTH_DRIVER``).

The core keeps the user table; a driver only says what to store for a new password and whether
a secret proves a user. ``core`` (salted PBKDF2 hashes, in ``nebula_core.passwords``) is the
default; a plugin registers others under the ``nebula.auth`` entry-point namespace.

Both calls run on the API's request threads, several at once on the one instance the core builds
(``Driver(DriverContext)``), so they must be thread-safe. Unlike VMM, IM and TM calls they get no
deadline from the core: a call that blocks holds an API thread (there are ``api.threads``) for
as long, so a driver that asks a remote service (LDAP, ...) bounds that wait itself. The daemon
caches a verified session for ``auth.session_cache_seconds``, so a driver is asked about once per
session and minute, not once per call.
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

        Called when a user is created or a password changed; the result is what authenticate()
        later gets as ``stored``. It need not be the same for the same password twice (a salted hash).

        :raises InvalidPassword: a password the driver refuses (empty, too long, ...); the
            message reaches the user as the reason.
        """

    @abc.abstractmethod
    def authenticate(self, username: str, secret: str, stored: str | None) -> bool:
        """Whether ``secret`` proves ``username``; ``stored`` is what stored_form gave, or None
        when no such user exists.

        A wrong secret, and an unknown user, must take as long as a right secret (no timing
        oracle): compare in constant time and do the same work when ``stored`` is None.
        Return False rather than raise for anything malformed (a ``stored`` another driver wrote,
        an over-long secret): anything raised fails the caller's API call as an internal error.
        A True for a disabled user or a None ``stored`` still does not log anyone in.
        """
