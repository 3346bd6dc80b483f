"""Persistence: the models and the database handle."""

from .engine import Database
from .models import (
    AddressRange,
    Base,
    Group,
    History,
    HookEvent,
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
    "HookEvent",
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
]
