"""``nebula vnet`` (``onevnet``): virtual networks, their address ranges, holds and reservations."""

from __future__ import annotations

import argparse

from ..client import AddressRange, Client, ClientError, Kind, VNet, lease_template
from ..template import Template
from . import owned, render
from .common import Commands, Output, blocks, checked, created, done, each, read
from .render import Column


def _used_leases(vnet: VNet) -> str:
    return f"{vnet.used_leases} / {vnet.size}"


VNET_COLUMNS: list[Column[VNet]] = [
    ("id", lambda vnet: vnet.id),
    ("user", lambda vnet: vnet.uname),
    ("name", lambda vnet: vnet.name),
    ("vn_mad", lambda vnet: vnet.vn_mad),
    ("bridge", lambda vnet: vnet.bridge),
    ("leases", _used_leases),
]
RANGE_COLUMNS: list[Column[AddressRange]] = [
    ("ar", lambda ar: ar.ar_id),
    ("type", lambda ar: ar.type),
    ("first_ip", lambda ar: ar.ip),
    ("last_ip", lambda ar: ar.ip_end),
    ("first_mac", lambda ar: ar.mac),
    ("size", lambda ar: ar.size),
    ("used", lambda ar: ar.used_leases),
]
LEASE_COLUMNS: list[Column[dict[str, str]]] = [
    ("ar", lambda lease: lease.get("AR_ID", "")),
    ("ip", lambda lease: lease.get("IP", "")),
    ("mac", lambda lease: lease.get("MAC", "")),
    ("vm", lambda lease: lease.get("VM", "")),  # -1: on hold, as OpenNebula shows it; "-": lent to a reservation
]



def vnet_create(client: Client, args: argparse.Namespace) -> Output:
    return created(client.vnet_allocate(read(args.file)))


def vnet_list(client: Client, args: argparse.Namespace) -> Output:
    vnets = client.vnet_list(args.filter)
    return Output(vnets, render.table(VNET_COLUMNS, vnets))


def vnet_show(client: Client, args: argparse.Namespace) -> Output:
    vnet = client.vnet_info(args.id)
    parent = [] if vnet.parent_id is None else [("PARENT NETWORK", vnet.parent_id)]
    info = render.fields(f"VIRTUAL NETWORK {vnet.id} INFORMATION", [
        ("ID", vnet.id), ("NAME", vnet.name), ("USER", vnet.uname), ("GROUP", vnet.gname), ("STATE", vnet.state_name),
        *render.lock(vnet.lock), *parent,
        ("BRIDGE", vnet.bridge or "-"), ("VN_MAD", vnet.vn_mad), ("USED LEASES", _used_leases(vnet)),
    ])
    return Output(vnet, blocks(
        info, render.permissions(vnet.permissions),
        render.section("VIRTUAL NETWORK TEMPLATE", render.template_text(vnet.template)),
        render.section("ADDRESS RANGES", render.table(RANGE_COLUMNS, vnet.ranges) if vnet.ranges else ""),
        render.section("LEASES", render.table(LEASE_COLUMNS, vnet.leases) if vnet.leases else ""),
    ))


def vnet_delete(client: Client, args: argparse.Namespace) -> Output:
    return each("virtual network", args.ids, client.vnet_delete)


def _range_template(args: argparse.Namespace) -> str:
    """FILE as written, or ``AR = [ ... ]`` from --ip/--mac/--size (IP4 with --ip, else ETHER)."""
    if args.file is not None:
        if args.ip or args.mac or args.size:
            raise ClientError("give either a FILE or --ip/--mac/--size, not both")
        return read(args.file)
    if args.size is None:
        raise ClientError("give a template FILE (- for stdin), or --size with --ip and/or --mac")
    given = {"TYPE": "IP4" if args.ip else "ETHER", "IP": args.ip, "MAC": args.mac, "SIZE": str(args.size)}
    return Template([("AR", {name: value for name, value in given.items() if value})]).to_text()


def vnet_addar(client: Client, args: argparse.Namespace) -> Output:
    client.vnet_add_range(args.id, _range_template(args))
    return done(args.id)


def vnet_rmar(client: Client, args: argparse.Namespace) -> Output:
    client.vnet_remove_range(args.id, args.ar_id, force=args.force)
    return done(args.id)


def vnet_updatear(client: Client, args: argparse.Namespace) -> Output:
    client.vnet_update_range(args.id, read(args.file))
    return done(args.id)


def vnet_hold(client: Client, args: argparse.Namespace) -> Output:
    client.vnet_hold(args.id, args.address)
    return done(args.id)


def vnet_release(client: Client, args: argparse.Namespace) -> Output:
    client.vnet_release(args.id, args.address)
    return done(args.id)


def vnet_reserve(client: Client, args: argparse.Namespace) -> Output:
    return created(client.vnet_reserve(args.id, args.name, args.size, args.ar))


def register(vnet: Commands) -> None:
    vnet.add("create", vnet_create, "create a virtual network from a template file").add_argument(
        "file", metavar="FILE", help="template file, - for stdin")
    vnet.add_list(vnet_list, "list virtual networks")
    vnet.add_id("show", vnet_show, "show a virtual network, its address ranges and its leases")
    vnet.add_ids("delete", vnet_delete, "delete virtual networks whose leases are all free", "virtual network")
    owned.register(vnet, Kind.VNET, "virtual network", "virtual network's template")
    addar = vnet.add_id("addar", vnet_addar, "add an address range: FILE with AR = [ ... ], or --ip/--mac/--size")
    addar.add_argument("file", metavar="FILE", nargs="?", help="template file with one AR = [ ... ], - for stdin")
    addar.add_argument("--ip", help="first IPv4 address (an IP4 range; without it an ETHER range)")
    addar.add_argument("--mac", help="first MAC address (default: made from the IP, or random)")
    addar.add_argument("--size", type=int, help="number of addresses")
    rmar = vnet.add_id("rmar", vnet_rmar, "remove an address range that no VM and no reservation uses")
    rmar.add_argument("ar_id", metavar="AR_ID", type=int)
    rmar.add_argument("--force", action="store_true", help="remove it even with addresses on hold")
    vnet.add_id("updatear", vnet_updatear, "resize an address range: FILE with AR = [ AR_ID = n, SIZE = m ]").add_argument(
        "file", metavar="FILE", help="template file, - for stdin")
    address = checked(lease_template)
    vnet.add_id("hold", vnet_hold, "keep an address out of use").add_argument(
        "address", metavar="ADDRESS", type=address, help="an IPv4 or MAC address of the network")
    vnet.add_id("release", vnet_release, "give back an address on hold").add_argument(
        "address", metavar="ADDRESS", type=address, help="an IPv4 or MAC address on hold")
    reserve = vnet.add_id("reserve", vnet_reserve, "carve free addresses into a new network of yours (its ID)")
    reserve.add_argument("--name", required=True, help="NAME of the new network")
    reserve.add_argument("--size", type=int, required=True, help="number of consecutive addresses")
    reserve.add_argument("--ar", type=int, metavar="AR_ID", help="take them from this address range")
