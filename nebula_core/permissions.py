"""Permission bits and locks on the objects users own, as OpenNebula defines them.

Each object keeps nine bits in three octal digits (owner, group, other), each digit
use = 4, manage = 2, admin = 1: new objects get 600 (DEFAULT_UMASK 177). A caller may act at a
level when it owns the object and the owner bit is set, or belongs to the object's group and
the group bit is set, or the other bit is set. Admins (oneadmin and its group) pass every check
but a lock. A lock at level L refuses every operation of level L or above (USE locks all).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import ApiError, AuthorizationError

if TYPE_CHECKING:  # this module is also the client's: it must not import the database
    from .users import Principal

OWNER, GROUP, OTHER = 6, 3, 0  # shifts of the three octal digits
BIT_NAMES = ("OWNER_U", "OWNER_M", "OWNER_A", "GROUP_U", "GROUP_M", "GROUP_A", "OTHER_U", "OTHER_M", "OTHER_A")
ADMIN_BITS = 0o111


class Level(enum.IntEnum):
    """The right an operation needs; the value is its bit within an octal digit."""

    USE = 4
    MANAGE = 2
    ADMIN = 1


class LockLevel(enum.IntEnum):
    """What ``lock`` takes: every operation at or above the level is refused until unlock."""

    NONE = 0
    USE = 1
    MANAGE = 2
    ADMIN = 3
    ALL = 4  # OpenNebula's name for USE

    @property
    def refuses(self) -> frozenset[Level]:
        first = {LockLevel.USE: 0, LockLevel.ALL: 0, LockLevel.MANAGE: 1, LockLevel.ADMIN: 2}.get(self)
        return frozenset() if first is None else frozenset((Level.USE, Level.MANAGE, Level.ADMIN)[first:])


def allows(caller: Principal, uid: int, gid: int, bits: int, level: Level) -> bool:
    if caller.is_admin:
        return True
    return bool((uid == caller.uid and bits >> OWNER & level)
                or (gid in caller.groups and bits >> GROUP & level)
                or bits >> OTHER & level)


def denial(caller: Principal, level: Level | str, objtype: str, obj_id: int | None = None) -> AuthorizationError:
    """OpenNebula's AUTHORIZATION refusal: ``User [5] : Not authorized to perform MANAGE VM [12].``"""
    name = level.name if isinstance(level, Level) else level
    target = f"{objtype} [{obj_id}]" if obj_id is not None else objtype
    return AuthorizationError(f"User [{caller.uid}] : Not authorized to perform {name} {target}.")


def chmod(bits: int, changes: Sequence[int]) -> int:
    """Apply nine -1 (keep) / 0 / 1 values in BIT_NAMES order to ``bits``."""
    if len(changes) != len(BIT_NAMES) or any(c not in (-1, 0, 1) for c in changes):
        raise ApiError("Permission values must be -1 (keep), 0 or 1, nine of them.")
    for index, change in enumerate(changes):
        mask = 1 << (8 - index)
        if change == 1:
            bits |= mask
        elif change == 0:
            bits &= ~mask
    return bits


def octal(text: str) -> list[int]:
    """``"640"`` as chmod's nine 0/1 values (owner, group, other x use 4, manage 2, admin 1).

    Raises ValueError unless ``text`` is three octal digits.
    """
    if len(text) != 3 or any(c not in "01234567" for c in text):
        raise ValueError(f"permissions must be three octal digits such as 640, got {text!r}")
    bits = int(text, 8)
    return [(bits >> (8 - i)) & 1 for i in range(9)]
