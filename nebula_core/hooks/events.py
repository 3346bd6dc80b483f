"""What hooks hear about: one frozen dataclass per event, named as its hook (``kind``).

Events of committed changes are stored with the change (the ``events`` table) and delivered
from there, so they survive a daemon killed before delivery; each round-trips through JSON.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True)
class Event:
    kind: ClassVar[str]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class VMAllocated(Event):
    """A VM was created (PENDING, or HOLD)."""

    kind: ClassVar[str] = "vm_allocated"
    vm_id: int
    uid: int
    name: str


@dataclasses.dataclass(frozen=True)
class VMStateChanged(Event):
    """A VM moved: every change of its STATE or LCM_STATE, with OpenNebula's numbers and names.

    ``reason`` says what moved it: ``api`` (an action), ``scheduler``, ``driver`` (a step's
    result), ``monitor:...`` (a poll or a host in ERROR), ``recover`` ...
    """

    kind: ClassVar[str] = "vm_state_changed"
    vm_id: int
    old_state: str
    old_lcm_state: str
    state: str
    lcm_state: str
    reason: str


@dataclasses.dataclass(frozen=True)
class HostCreated(Event):
    kind: ClassVar[str] = "host_created"
    host_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class HostStateChanged(Event):
    """A host's STATE changed: monitored, ERROR (``reason`` holds the probe's error), disabled, offline."""

    kind: ClassVar[str] = "host_state_changed"
    host_id: int
    name: str
    old_state: str
    state: str
    reason: str


@dataclasses.dataclass(frozen=True)
class HostDeleted(Event):
    kind: ClassVar[str] = "host_deleted"
    host_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class LeaseTaken(Event):
    """A VM took an address of a network (at allocate); ``ip`` is "" on an Ethernet-only range."""

    kind: ClassVar[str] = "lease_taken"
    vnet_id: int
    vm_id: int
    ip: str
    mac: str


@dataclasses.dataclass(frozen=True)
class LeaseReleased(Event):
    """A VM gave an address back (it is DONE)."""

    kind: ClassVar[str] = "lease_released"
    vnet_id: int
    vm_id: int
    ip: str
    mac: str


@dataclasses.dataclass(frozen=True)
class ImageReady(Event):
    """An image can be used: registered, copied or uploaded in full (fired by the image repository)."""

    kind: ClassVar[str] = "image_ready"
    image_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class ImageError(Event):
    """An image went to ERROR; ``reason`` says why (a failed copy, a wrong checksum ...)."""

    kind: ClassVar[str] = "image_error"
    image_id: int
    name: str
    reason: str


@dataclasses.dataclass(frozen=True)
class UserCreated(Event):
    kind: ClassVar[str] = "user_created"
    user_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class UserDeleted(Event):
    kind: ClassVar[str] = "user_deleted"
    user_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class GroupCreated(Event):
    kind: ClassVar[str] = "group_created"
    group_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class GroupDeleted(Event):
    kind: ClassVar[str] = "group_deleted"
    group_id: int
    name: str


@dataclasses.dataclass(frozen=True)
class ApiCallDone(Event):
    """An API call answered; ``code`` is 0 for success, else OpenNebula's error code (or the fault's).

    Delivered from memory, not stored: what a call changed has events of its own.
    """

    kind: ClassVar[str] = "api_call_done"
    method: str
    uid: int  # -1 when the session did not authenticate
    code: int
    seconds: float
    arguments: tuple[str, ...] = ()  # as text, the session and passwords as ****
    result: str = ""  # the reply's value (the new id ...) or the error message; "" for a pool


@dataclasses.dataclass(frozen=True)
class DaemonStarted(Event):
    """The daemon serves: where its API is, and the file holding oneadmin's session (``user:password``),
    for plugins that act through the API. Delivered from memory, before any other event."""

    kind: ClassVar[str] = "daemon_started"
    endpoint: str
    one_auth: str


KINDS: dict[str, type[Event]] = {cls.kind: cls for cls in (
    VMAllocated, VMStateChanged, HostCreated, HostStateChanged, HostDeleted, LeaseTaken, LeaseReleased, ImageReady, ImageError,
    UserCreated,
    UserDeleted, GroupCreated, GroupDeleted, ApiCallDone, DaemonStarted,
)}


def from_json(kind: str, payload: str) -> Event:
    fields: dict[str, Any] = json.loads(payload)
    return KINDS[kind](**fields)
