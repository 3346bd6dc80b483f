"""Every event a hook plugin may react to: implement the functions you need, by these names.

A hook plugin is any object (a module, a class instance) with functions marked by
``nebula_core.hooks.hookimpl`` and named as below, registered under the ``nebula.hooks``
entry-point namespace::

    [project.entry-points."nebula.hooks"]
    audit = "nebula_audit"          # a module with @hookimpl def vm_state_changed(event): ...

Two kinds, kept apart:

- Observers (``vm_state_changed`` ...) run after the change is committed, off the request path,
  one call at a time per event, each within ``hooks.timeout`` seconds. What they raise is logged
  and does not undo or delay the change. Each committed event reaches them at least once, also
  across a daemon killed before delivery (so an observer may see an event twice: make it
  idempotent). ``api_call_done`` is the exception: it is delivered from memory, best effort.
- Policies (``*_policy``) run before a change, in its path, within ``hooks.timeout``: they may
  amend what is asked, or refuse it by raising ``HookRefusal("what the user reads")``. A policy
  that fails or does not answer in time refuses too (fail closed).
"""

from __future__ import annotations

import pluggy

from ..errors import ActionError
from ..template import Template
from ..users import Principal
from .events import (
    ApiCallDone,
    DaemonStarted,
    GroupCreated,
    GroupDeleted,
    HostCreated,
    HostDeleted,
    HostStateChanged,
    ImageError,
    ImageReady,
    LeaseReleased,
    LeaseTaken,
    UserCreated,
    UserDeleted,
    VMAllocated,
    VMStateChanged,
)

PROJECT = "nebula"
hookspec = pluggy.HookspecMarker(PROJECT)
POLICIES = ("vm_allocate_policy", "vm_placement_policy")


class HookRefusal(ActionError):
    """Raised by a policy hook to refuse a change; the API answers ACTION (0x800) with the message."""


@hookspec
def daemon_started(event: DaemonStarted) -> None:
    """The daemon serves (its API endpoint, oneadmin's credentials file): a plugin that acts through
    the API (``nebula_core.client.Client``) keeps them. Heard before any other event."""


@hookspec
def vm_allocated(event: VMAllocated) -> None:
    """A VM was created: one.vm.allocate or one.template.instantiate."""


@hookspec
def vm_state_changed(event: VMStateChanged) -> None:
    """A VM changed STATE or LCM_STATE: every transition, whoever caused it (API, scheduler,
    driver result, monitor: UNKNOWN when its host is lost or it vanished, a delete from any state)."""


@hookspec
def host_created(event: HostCreated) -> None:
    """A host was registered."""


@hookspec
def host_state_changed(event: HostStateChanged) -> None:
    """A host changed STATE: INIT → MONITORED, → ERROR when a probe fails (``reason``), back, or an admin's enable/disable/offline."""


@hookspec
def host_deleted(event: HostDeleted) -> None:
    """A host was removed."""


@hookspec
def lease_taken(event: LeaseTaken) -> None:
    """A VM took an address of a virtual network (when it was allocated)."""


@hookspec
def lease_released(event: LeaseReleased) -> None:
    """A VM gave its address back (when it reached DONE, whatever the path)."""


@hookspec
def image_ready(event: ImageReady) -> None:
    """An image is READY to be used. Fired by the image repository (not in this release yet)."""


@hookspec
def image_error(event: ImageError) -> None:
    """An image went to ERROR, with the reason. Fired by the image repository (not in this release yet)."""


@hookspec
def user_created(event: UserCreated) -> None:
    """A user was created."""


@hookspec
def user_deleted(event: UserDeleted) -> None:
    """A user was deleted."""


@hookspec
def group_created(event: GroupCreated) -> None:
    """A group was created."""


@hookspec
def group_deleted(event: GroupDeleted) -> None:
    """A group was deleted."""


@hookspec
def api_call_done(event: ApiCallDone) -> None:
    """An API call was answered (method, caller, outcome, time): for auditing and metrics."""


# -- policies ------------------------------------------------------------------------------------


@hookspec
def vm_allocate_policy(template: Template, owner: Principal) -> None:
    """Before a VM is created (allocate or instantiate): amend ``template`` in place (defaults, caps)
    or raise HookRefusal. ``owner`` is who asks (uid, gid, groups, is_admin). NAME is absent when
    the VM will get a default one (``<template>-<id>``)."""


@hookspec
def vm_placement_policy(vm_id: int, host_id: int, host_name: str) -> None:
    """Before the scheduler puts a PENDING VM on a host: raise HookRefusal to veto it for this
    cycle; the VM stays PENDING and its SCHED_MESSAGE gives the reason."""
