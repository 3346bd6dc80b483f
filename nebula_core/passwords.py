"""The ``core`` authentication driver: salted, deliberately slow PBKDF2-SHA256 hashes.

Stored as ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``. The iteration count travels with
each hash, so raising ITERATIONS later leaves existing passwords valid.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .drivers.auth import AuthDriver, InvalidPassword
from .drivers.vmm import DriverContext

ITERATIONS = 60_000
MAX_PASSWORD = 1024
SCHEME = "pbkdf2_sha256"


def _digest(password: str, salt: bytes, iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, iterations).hex()


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    return f"{SCHEME}${iterations}${salt.hex()}${_digest(password, salt, iterations)}"


class CorePasswords(AuthDriver):
    """Passwords kept as salted hashes in Nebula's own user table."""

    def __init__(self, context: DriverContext) -> None:
        super().__init__(context)
        self._decoy = hash_password(secrets.token_hex(8))  # checked when the user does not exist

    def stored_form(self, password: str) -> str:
        if not password:
            raise InvalidPassword("Invalid password: it must not be empty.")
        if len(password) > MAX_PASSWORD:
            raise InvalidPassword(f"Invalid password: at most {MAX_PASSWORD} characters.")
        return hash_password(password)

    def authenticate(self, username: str, secret: str, stored: str | None) -> bool:
        try:
            scheme, iterations, salt_hex, expected = (stored or "").split("$")
            salt, rounds = bytes.fromhex(salt_hex), int(iterations)
            usable = scheme == SCHEME and 0 < rounds <= 10 * ITERATIONS
        except ValueError:
            usable = False
        if not usable:  # unknown user or unreadable hash: the same work against the decoy, then refuse
            _, iterations, salt_hex, expected = self._decoy.split("$")
            salt, rounds = bytes.fromhex(salt_hex), int(iterations)
        computed = _digest(secret[:MAX_PASSWORD], salt, rounds)
        return hmac.compare_digest(computed, expected) and usable
