"""Persistence: the models and the database handle."""

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ..errors import NoExistsError
from .engine import Database
from .models import (
    AddressRange,
    Base,
    Group,
    History,
    Hook,
    HookEvent,
    HookExecution,
    Host,
    Image,
    Lease,
    LoginToken,
    Membership,
    Owned,
    Sequence,
    User,
    VirtualMachine,
    VirtualNetwork,
    VMTemplate,
)

__all__ = [
    "AddressRange",
    "Base",
    "Database",
    "Group",
    "History",
    "Hook",
    "HookEvent",
    "HookExecution",
    "Host",
    "Image",
    "Lease",
    "LoginToken",
    "Membership",
    "Owned",
    "Sequence",
    "User",
    "VMTemplate",
    "VirtualMachine",
    "VirtualNetwork",
    "existing",
]


M = TypeVar("M")


def existing(session: Session, model: type[M], obj_id: Any, noun: str) -> M:
    """The row with that id, or OpenNebula's NO_EXISTS: ``Error getting <noun> [<id>].``"""
    found = session.get(model, obj_id)
    if found is None:
        raise NoExistsError(f"Error getting {noun} [{obj_id}].", obj_id if isinstance(obj_id, int) else -1)
    return found
