"""Virtual networks and their leases: ranged and fixed (1.4), address ranges (modern).

A lease is a row keyed by (vnet, address range, index); the unique key is what makes two
concurrent submits unable to get the same address. Leases are taken when a VM is allocated
and released when it is DONE (``release_vm``, idempotent: deleting rows that are gone is a
no-op, so a lease is released exactly once whatever path the VM took).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import AddressRange, Lease, VirtualNetwork
from .errors import ActionError, AllocateError, InternalError, NoExistsError
from .states import VNetState
from .template import Template, Vector

LEASE_ATTEMPTS = 8
MAX_RANGE = 1 << 24  # addresses in one range; larger is surely a typo (a /8)
SIZE_CLASSES = {"C": 254, "B": 65534}


@dataclass(frozen=True)
class RangeSpec:
    type: str  # IP4 or ETHER
    ip_start: int | None
    mac_start: int
    size: int


def mac_from_ip(prefix: str, ip: int) -> int:
    """OpenNebula's rule: the two prefix bytes, then the four bytes of the IPv4 address."""
    return (int(prefix.replace(":", ""), 16) << 32) | ip


def mac_text(mac: int) -> str:
    raw = f"{mac:012x}"
    return ":".join(raw[i:i + 2] for i in range(0, 12, 2))


def _ip(text: str, what: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise AllocateError(f"{what} is not an IPv4 address: {text!r}") from None


def _mac(text: str) -> int:
    digits = text.strip().lower().replace(":", "")
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        raise AllocateError(f"MAC is not a MAC address: {text!r}")
    return int(digits, 16)


def _size(text: str, what: str) -> int:
    value = SIZE_CLASSES.get(text.strip().upper())
    if value is None:
        try:
            value = int(text)
        except ValueError:
            raise AllocateError(f"{what} must be a positive integer, C or B, got {text!r}") from None
    if not 0 < value <= MAX_RANGE:
        raise AllocateError(f"{what} must be between 1 and {MAX_RANGE}, got {value}")
    return value


def ranges_from_template(template: Template, mac_prefix: str) -> list[RangeSpec]:
    """Read the address ranges a vnet template asks for, in 1.4 or modern form."""
    ranges: list[RangeSpec] = []
    kind = (template.get_str("TYPE") or "").upper()
    if kind == "RANGED" or (template.get_str("NETWORK_ADDRESS") and not template.vectors("AR") and kind != "FIXED"):
        address = template.get_str("NETWORK_ADDRESS")
        if not address:
            raise AllocateError("a RANGED network needs NETWORK_ADDRESS")
        size = _size(template.get_str("NETWORK_SIZE") or "C", "NETWORK_SIZE")
        block = 1 << (size + 1).bit_length()  # the power-of-two block that holds SIZE + 2 addresses
        base = _ip(address.split("/")[0], "NETWORK_ADDRESS") & ~(block - 1) & 0xFFFFFFFF
        ranges.append(RangeSpec("IP4", base + 1, mac_from_ip(mac_prefix, base + 1), size))
    for lease in template.vectors("LEASES"):
        if "IP" not in lease:
            raise AllocateError("each LEASES of a FIXED network needs an IP")
        ip = _ip(lease["IP"], "LEASES IP")
        mac = _mac(lease["MAC"]) if lease.get("MAC") else mac_from_ip(mac_prefix, ip)
        ranges.append(RangeSpec("IP4", ip, mac, 1))
    for ar in template.vectors("AR"):
        ranges.append(_address_range(ar, mac_prefix))
    if not ranges and kind == "FIXED":
        raise AllocateError("a FIXED network needs at least one LEASES = [ IP = ... ]")
    return ranges


def _address_range(ar: Vector, mac_prefix: str) -> RangeSpec:
    kind = ar.get("TYPE", "IP4").upper()
    size = _size(ar.get("SIZE", ""), "AR SIZE")
    if kind == "IP4":
        if "IP" not in ar:
            raise AllocateError("an IP4 address range needs IP")
        ip = _ip(ar["IP"], "AR IP")
        if ip + size - 1 > 0xFFFFFFFF:
            raise AllocateError("AR SIZE runs past 255.255.255.255")
        mac = _mac(ar["MAC"]) if ar.get("MAC") else mac_from_ip(mac_prefix, ip)
        return RangeSpec("IP4", ip, mac, size)
    if kind == "ETHER":
        mac = _mac(ar["MAC"]) if ar.get("MAC") else mac_from_ip(mac_prefix, random.getrandbits(32))
        return RangeSpec("ETHER", None, mac, size)
    raise AllocateError(f"AR TYPE must be IP4 or ETHER, got {kind!r}")


def create(session: Session, vnet_id: int, uid: int, gid: int, template: Template, mac_prefix: str) -> VirtualNetwork:
    """Register a network; the template's NAME must be unique."""
    name = template.get_str("NAME")
    if not name:
        raise AllocateError("NAME is required for a virtual network")
    taken = session.scalars(select(VirtualNetwork.id).where(VirtualNetwork.name == name)).first()
    if taken is not None:
        raise AllocateError(f"NAME is already taken by NET {taken}.")
    ranges = ranges_from_template(template, mac_prefix)
    vnet = VirtualNetwork(
        id=vnet_id, uid=uid, gid=gid, name=name, state=int(VNetState.READY),
        bridge=template.get_str("BRIDGE") or f"onebr{vnet_id}", vn_mad=template.get_str("VN_MAD") or "dummy",
        template=template.to_json(),
    )
    session.add(vnet)
    session.flush()
    for ar_id, spec in enumerate(ranges):
        session.add(AddressRange(
            vnet_id=vnet_id, ar_id=ar_id, type=spec.type, ip_start=spec.ip_start, mac_start=spec.mac_start,
            size=spec.size,
        ))
    return vnet


def find(session: Session, nic: Vector, what: str = "NIC") -> VirtualNetwork:
    if "NETWORK_ID" in nic:
        try:
            vnet_id = int(nic["NETWORK_ID"])
        except ValueError:
            raise AllocateError(f"{what} NETWORK_ID must be an integer, got {nic['NETWORK_ID']!r}") from None
        vnet = session.get(VirtualNetwork, vnet_id)
        if vnet is None:
            raise NoExistsError(f"Error getting virtual network [{vnet_id}].", vnet_id)
        return vnet
    if "NETWORK" in nic:
        vnet = session.scalars(select(VirtualNetwork).where(VirtualNetwork.name == nic["NETWORK"])).first()
        if vnet is None:
            raise NoExistsError(f"Error getting virtual network [{nic['NETWORK']}].")
        return vnet
    raise AllocateError(f"{what} needs NETWORK or NETWORK_ID")


def lease_nic(session: Session, vm_id: int, nic_id: int, nic: Vector) -> Vector:
    """Take a lease for one NIC and return the NIC completed as OpenNebula completes it."""
    vnet = find(session, nic)
    if vnet.state != VNetState.READY:
        raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")
    # Locking the network's ranges makes concurrent allocates pick its addresses one at a time.
    ranges = list(session.scalars(
        select(AddressRange).where(AddressRange.vnet_id == vnet.id).order_by(AddressRange.ar_id).with_for_update()
    ))
    for _attempt in range(LEASE_ATTEMPTS):  # another transaction may take our pick first
        ar, idx = _choose(session, vnet, ranges, nic)
        if _take(session, vnet.id, ar, idx, vm_id):
            break
        if "IP" in nic or "MAC" in nic:
            raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")
    else:
        raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")
    ip = None if ar.ip_start is None else ar.ip_start + idx
    completed = dict(nic)
    completed.update({
        "AR_ID": str(ar.ar_id), "BRIDGE": vnet.bridge, "MAC": mac_text(ar.mac_start + idx),
        "NETWORK": vnet.name, "NETWORK_ID": str(vnet.id), "NIC_ID": str(nic_id),
        "TARGET": f"one-{vm_id}-{nic_id}", "VN_MAD": vnet.vn_mad,
    })
    if ip is not None:
        completed["IP"] = str(ipaddress.IPv4Address(ip))
    return completed


def _choose(session: Session, vnet: VirtualNetwork, ranges: list[AddressRange], nic: Vector) -> tuple[AddressRange, int]:
    if "IP" in nic:
        ip = _ip(nic["IP"], "NIC IP")
        for ar in ranges:
            if ar.ip_start is not None and 0 <= ip - ar.ip_start < ar.size:
                return ar, ip - ar.ip_start
        raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")
    if "MAC" in nic:
        mac = _mac(nic["MAC"])
        for ar in ranges:
            if 0 <= mac - ar.mac_start < ar.size:
                return ar, mac - ar.mac_start
        raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")
    for ar in ranges:
        idx = _first_free(session, ar)
        if idx is not None:
            return ar, idx
    raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")


def _first_free(session: Session, ar: AddressRange) -> int | None:
    """The first free index at or after the range's cursor, wrapping round (round-robin, as oned)."""
    for start, stop in ((ar.next_index, ar.size), (0, ar.next_index)):
        taken = session.scalars(
            select(Lease.idx).where(Lease.vnet_id == ar.vnet_id, Lease.ar_id == ar.ar_id, Lease.idx >= start, Lease.idx < stop)
            .order_by(Lease.idx)
        )
        expected = start
        for idx in taken:
            if idx != expected:
                break
            expected += 1
        if expected < stop:
            return expected
    return None


def _take(session: Session, vnet_id: int, ar: AddressRange, idx: int, vm_id: int | None) -> bool:
    """Insert the lease; False if that address was taken meanwhile (the unique key said no)."""
    try:
        with session.begin_nested():
            session.add(Lease(vnet_id=vnet_id, ar_id=ar.ar_id, idx=idx, vm_id=vm_id))
    except IntegrityError:
        return False
    ar.next_index = (idx + 1) % ar.size
    return True


def release_vm(session: Session, vm_id: int) -> None:
    session.execute(delete(Lease).where(Lease.vm_id == vm_id))


def remove(session: Session, vnet: VirtualNetwork) -> None:
    used = session.scalars(select(Lease.vm_id).where(Lease.vnet_id == vnet.id, Lease.vm_id.is_not(None))).first()
    if used is not None:
        raise ActionError("Cannot delete virtual network. It has leases in use by VMs")
    session.execute(delete(Lease).where(Lease.vnet_id == vnet.id))
    session.execute(delete(AddressRange).where(AddressRange.vnet_id == vnet.id))
    session.delete(vnet)
