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

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import AddressRange, Lease, VirtualNetwork
from .errors import ActionError, AllocateError, ApiError, InternalError, NoExistsError
from .permissions import Level, allows, denial
from .states import VNetState
from .template import Template, Vector
from .users import Principal

LEASE_ATTEMPTS = 8
MAX_ID = 2**31 - 1
MAX_RANGE = 1 << 24  # addresses in one range; larger is surely a typo (a /8)
SIZE_CLASSES = {"C": 254, "B": 65534}
RANGE_ATTRIBUTES = frozenset({"NAME", "AR", "LEASES", "TYPE", "NETWORK_ADDRESS", "NETWORK_SIZE"})  # not copied to a reservation


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
    template = Template([(k, v) for k, v in template if k != "AR"])  # ranges live in AR_POOL, as in oned
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
        vnet = session.get(VirtualNetwork, vnet_id) if 0 <= vnet_id <= MAX_ID else None  # the column is 32-bit
        if vnet is None:
            raise NoExistsError(f"Error getting virtual network [{vnet_id}].", vnet_id)
        return vnet
    if "NETWORK" in nic:
        vnet = session.scalars(select(VirtualNetwork).where(VirtualNetwork.name == nic["NETWORK"])).first()
        if vnet is None:
            raise NoExistsError(f"Error getting virtual network [{nic['NETWORK']}].")
        return vnet
    raise AllocateError(f"{what} needs NETWORK or NETWORK_ID")


def lease_nic(session: Session, owner: Principal, vm_id: int, nic_id: int, nic: Vector) -> Vector:
    """Take a lease for one NIC of ``owner``'s VM (who must be allowed to USE the network) and
    return the NIC completed as OpenNebula completes it."""
    vnet = find(session, nic)
    if not allows(owner, vnet.uid, vnet.gid, vnet.permissions, Level.USE):
        raise denial(owner, Level.USE, "NET", vnet.id)
    if vnet.state != VNetState.READY:
        raise InternalError(f"Cannot get IP/MAC lease from virtual network {vnet.id}.")
    ranges = _ranges(session, vnet.id)
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


def release_vm(session: Session, vm_id: int, report: bool = False) -> list[tuple[int, str, str]]:
    """Give back the VM's addresses; with ``report``, say which ones: (vnet id, IP or "", MAC)."""
    released = []
    if report:
        rows = session.execute(select(Lease.vnet_id, Lease.idx, AddressRange.ip_start, AddressRange.mac_start)
                               .join(AddressRange, (AddressRange.vnet_id == Lease.vnet_id) & (AddressRange.ar_id == Lease.ar_id))
                               .where(Lease.vm_id == vm_id))
        released = [(vnet_id, "" if ip is None else str(ipaddress.IPv4Address(ip + idx)), mac_text(mac + idx))
                    for vnet_id, idx, ip, mac in rows]
    session.execute(delete(Lease).where(Lease.vm_id == vm_id))
    return released


def remove(session: Session, vnet: VirtualNetwork) -> None:
    """Delete a network no VM and no reservation uses; a reservation gives its addresses back."""
    used = session.scalars(select(Lease.vm_id).where(Lease.vnet_id == vnet.id, Lease.vm_id.is_not(None))).first()
    if used is not None:
        raise ActionError("Cannot delete virtual network. It has leases in use by VMs")
    reserved = session.scalars(select(Lease.reservation_id).where(Lease.vnet_id == vnet.id, Lease.reservation_id.is_not(None))).first()
    if reserved is not None:
        raise ActionError(f"Cannot delete virtual network. Reservation {reserved} still holds addresses of it")
    session.execute(delete(Lease).where(Lease.vnet_id == vnet.id))
    session.execute(delete(Lease).where(Lease.reservation_id == vnet.id))
    session.execute(delete(AddressRange).where(AddressRange.vnet_id == vnet.id))
    session.delete(vnet)


def _ranges(session: Session, vnet_id: int) -> list[AddressRange]:
    """The network's ranges, locked: range changes and lease picks on one network go one at a time."""
    return list(session.scalars(
        select(AddressRange).where(AddressRange.vnet_id == vnet_id).order_by(AddressRange.ar_id).with_for_update()))


def _one_vector(template: Template, name: str) -> Vector:
    found = template.vectors(name)
    if len(found) != 1:
        raise ApiError(f"The template must hold exactly one {name} = [ ... ] vector.")
    return found[0]


def add_range(session: Session, vnet: VirtualNetwork, template: Template, mac_prefix: str) -> int:
    """``one.vn.add_ar``: append the range given as ``AR = [ ... ]``; returns its AR_ID."""
    spec = _address_range(_one_vector(template, "AR"), mac_prefix)
    ranges = _ranges(session, vnet.id)
    ar_id = max((ar.ar_id for ar in ranges), default=-1) + 1
    session.add(AddressRange(vnet_id=vnet.id, ar_id=ar_id, type=spec.type, ip_start=spec.ip_start, mac_start=spec.mac_start,
                             size=spec.size))
    return ar_id


def _range(ranges: list[AddressRange], vnet_id: int, ar_id: int) -> AddressRange:
    for ar in ranges:
        if ar.ar_id == ar_id:
            return ar
    raise ActionError(f"Address range {ar_id} does not exist in virtual network {vnet_id}.")


def remove_range(session: Session, vnet: VirtualNetwork, ar_id: int, force: bool) -> None:
    """``one.vn.rm_ar``: never while a VM or a reservation uses it; held addresses only with ``force``."""
    ar = _range(_ranges(session, vnet.id), vnet.id, ar_id)
    in_range = (Lease.vnet_id == vnet.id) & (Lease.ar_id == ar_id)
    if session.scalars(select(Lease.id).where(in_range, Lease.vm_id.is_not(None) | Lease.reservation_id.is_not(None))).first():
        raise ActionError(f"Address range {ar_id} has leases in use by VMs or reservations.")
    if not force and session.scalars(select(Lease.id).where(in_range)).first():
        raise ActionError(f"Address range {ar_id} has leases on hold; release them or remove it with force.")
    session.execute(delete(Lease).where(in_range))
    session.delete(ar)


def update_range(session: Session, vnet: VirtualNetwork, template: Template) -> None:
    """``one.vn.update_ar``: a new SIZE for ``AR = [ AR_ID = n, SIZE = m ]``; the addresses themselves stay."""
    given = _one_vector(template, "AR")
    try:
        ar_id = int(given.get("AR_ID", ""))
    except ValueError:
        raise ApiError("update_ar needs AR = [ AR_ID = <integer>, ... ]") from None
    fixed = sorted(k for k in given if k in ("TYPE", "IP", "MAC", "IP6", "GLOBAL_PREFIX", "ULA_PREFIX"))
    if fixed:
        raise ActionError(f"{', '.join(fixed)} of an address range cannot be changed; remove it and add a new one.")
    ar = _range(_ranges(session, vnet.id), vnet.id, ar_id)
    if "SIZE" in given:
        size = _size(given["SIZE"], "AR SIZE")
        highest = session.scalar(select(func.max(Lease.idx)).where(Lease.vnet_id == vnet.id, Lease.ar_id == ar_id))
        if highest is not None and highest >= size:
            raise ActionError(f"AR SIZE {size} would drop an address in use (index {highest}).")
        if ar.ip_start is not None and ar.ip_start + size - 1 > 0xFFFFFFFF:
            raise ActionError("AR SIZE runs past 255.255.255.255")
        ar.size, ar.next_index = size, ar.next_index % size


def _address(ranges: list[AddressRange], vnet_id: int, spec: Vector) -> tuple[AddressRange, int]:
    """The range and index of ``LEASES = [ IP = ... ]`` (or MAC)."""
    if "IP" in spec:
        ip = _ip(spec["IP"], "LEASES IP")
        found = [(ar, ip - ar.ip_start) for ar in ranges if ar.ip_start is not None and 0 <= ip - ar.ip_start < ar.size]
    elif "MAC" in spec:
        mac = _mac(spec["MAC"])
        found = [(ar, mac - ar.mac_start) for ar in ranges if 0 <= mac - ar.mac_start < ar.size]
    else:
        raise ApiError("LEASES needs IP or MAC")
    if not found:
        raise ActionError(f"The address is not in any address range of virtual network {vnet_id}.")
    return found[0]


def hold(session: Session, vnet: VirtualNetwork, template: Template) -> None:
    """``one.vn.hold``: keep an address out of use (a lease with no VM)."""
    ar, idx = _address(_ranges(session, vnet.id), vnet.id, _one_vector(template, "LEASES"))
    if not _take(session, vnet.id, ar, idx, None):
        raise ActionError("The address is already in use or on hold.")


def release(session: Session, vnet: VirtualNetwork, template: Template) -> None:
    """``one.vn.release``: give back an address on hold (never one a VM or a reservation uses)."""
    ar, idx = _address(_ranges(session, vnet.id), vnet.id, _one_vector(template, "LEASES"))
    lease = session.scalars(select(Lease).where(Lease.vnet_id == vnet.id, Lease.ar_id == ar.ar_id, Lease.idx == idx)).first()
    if lease is None or lease.vm_id is not None or lease.reservation_id is not None:
        raise ActionError("The address is not on hold.")
    session.delete(lease)


def reserve(session: Session, parent: VirtualNetwork, reservation_id: int, owner: Principal, template: Template) -> VirtualNetwork:
    """``one.vn.reserve``: carve SIZE consecutive free addresses out of ``parent`` into a new network
    of ``owner`` (NAME), held in the parent until the reservation is deleted."""
    name = template.get_str("NAME")
    if not name:
        raise ActionError("A reservation needs NAME")
    size = _size(template.get_str("SIZE") or "", "SIZE")
    ranges = _ranges(session, parent.id)
    if template.get_str("AR_ID") is not None:
        try:
            ranges = [_range(ranges, parent.id, int(template.get_str("AR_ID") or ""))]
        except ValueError:
            raise ApiError("AR_ID must be an integer") from None
    for ar in ranges:
        start = _free_block(session, ar, size)
        if start is not None:
            break
    else:
        raise ActionError(f"Not enough free addresses in virtual network {parent.id} to reserve {size}.")
    copy = Template([(k, v) for k, v in Template.from_json(parent.template) if k not in RANGE_ATTRIBUTES])
    copy.set("NAME", name)
    vnet = create(session, reservation_id, owner.uid, owner.gid, copy, "00:00")
    vnet.parent_id, vnet.bridge, vnet.vn_mad = parent.id, parent.bridge, parent.vn_mad
    session.add(AddressRange(vnet_id=vnet.id, ar_id=0, type=ar.type, size=size, mac_start=ar.mac_start + start,
                             ip_start=None if ar.ip_start is None else ar.ip_start + start))
    session.add_all(Lease(vnet_id=parent.id, ar_id=ar.ar_id, idx=start + k, reservation_id=vnet.id) for k in range(size))
    return vnet


def _free_block(session: Session, ar: AddressRange, size: int) -> int | None:
    """The first index of ``size`` consecutive free addresses in the range."""
    start = 0
    for idx in session.scalars(select(Lease.idx).where(Lease.vnet_id == ar.vnet_id, Lease.ar_id == ar.ar_id).order_by(Lease.idx)):
        if idx - start >= size:
            return start
        start = idx + 1
    return start if ar.size - start >= size else None
