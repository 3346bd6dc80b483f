"""Registering hosts: a name, and the drivers it names, each checked against what is installed."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import Database, Host, VirtualMachine, existing
from .drivers.manager import Drivers, UnknownDriver
from .errors import ActionError, AllocateError, ApiError
from .states import HostState
from .template import Template

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\[\]-]{0,254}$")
STATUS = {0: HostState.INIT, 1: HostState.DISABLED, 2: HostState.OFFLINE}


def valid_name(name: str) -> bool:
    return HOST_NAME.match(name) is not None


def allocate(db: Database, session: Session, drivers: Drivers, name: str, im_mad: str, vm_mad: str, tm_mad: str) -> Host:
    if not valid_name(name):
        raise AllocateError(f"Error allocating a new host. Invalid host name {name[:80]!r}.")
    try:
        drivers.im.check(im_mad)
        drivers.vmm.check(vm_mad)
        drivers.tm.check(tm_mad)
    except UnknownDriver as exc:
        raise AllocateError(f"Error allocating a new host. {exc}.") from None
    taken = session.scalars(select(Host.id).where(Host.name == name)).first()
    if taken is not None:
        raise AllocateError(f"Error allocating a new host. NAME is already taken by HOST {taken}.")
    host = Host(
        id=db.next_id(session, "host"), name=name, im_mad=im_mad, vm_mad=vm_mad, tm_mad=tm_mad,
        state=int(HostState.INIT), template=Template().to_json(),
    )
    session.add(host)
    return host


def get(session: Session, host_id: int) -> Host:
    return existing(session, Host, host_id, "host")


def remove(session: Session, host: Host) -> None:
    busy = session.scalar(select(func.count()).select_from(VirtualMachine).where(VirtualMachine.host_id == host.id))
    if busy:
        raise ActionError("Cannot delete host. Can not remove a host with running VMs")
    session.delete(host)


def set_status(host: Host, status: int) -> None:
    """``one.host.status``: 0 enable (probe again), 1 disable, 2 offline."""
    if status not in STATUS:
        raise ApiError("Wrong status code")
    host.prev_state, host.state = host.state, int(STATUS[status])
