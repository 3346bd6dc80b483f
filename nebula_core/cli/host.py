"""``nebula host`` (``onehost``): register, watch and switch hosts (admins only)."""

from __future__ import annotations

import argparse

from ..client import Client, Host, HostStatus
from . import render
from .common import Commands, Output, blocks, created, done, each
from .render import Column


def _allocated_cpu(host: Host) -> str:
    return f"{host.cpu_usage} / {host.max_cpu}"


def _allocated_mem(host: Host) -> str:
    return f"{render.size(host.mem_usage)} / {render.size(host.max_mem)}"


HOST_COLUMNS: list[Column[Host]] = [
    ("id", lambda host: host.id),
    ("name", lambda host: host.name),
    ("stat", render.host_short),
    ("rvm", lambda host: host.running_vms),
    ("allocated_cpu", _allocated_cpu),
    ("allocated_mem", _allocated_mem),
]
HOST_STATUS_COMMANDS: dict[str, tuple[HostStatus, str]] = {
    "enable": (HostStatus.ENABLED, "let the scheduler use the host again (it is monitored afresh)"),
    "disable": (HostStatus.DISABLED, "keep monitoring the host but schedule nothing on it"),
    "offline": (HostStatus.OFFLINE, "neither monitor nor schedule on the host"),
}


def host_create(client: Client, args: argparse.Namespace) -> Output:
    return created(client.host_allocate(args.name, args.im, args.vmm))


def host_list(client: Client, args: argparse.Namespace) -> Output:
    hosts = client.host_list()
    return Output(hosts, render.table(HOST_COLUMNS, hosts))


def host_show(client: Client, args: argparse.Namespace) -> Output:
    host = client.host_info(args.id)
    info = render.fields(f"HOST {host.id} INFORMATION", [
        ("ID", host.id), ("NAME", host.name), ("STATE", host.state_name), ("IM_MAD", host.im_mad),
        ("VM_MAD", host.vm_mad), ("RUNNING VMS", host.running_vms),
        ("ALLOCATED CPU", _allocated_cpu(host)), ("ALLOCATED MEM", _allocated_mem(host)),
    ])
    return Output(host, blocks(info, render.section("HOST TEMPLATE", render.template_text(host.template))))


def host_delete(client: Client, args: argparse.Namespace) -> Output:
    return each("host", args.ids, client.host_delete)


def host_status(client: Client, args: argparse.Namespace) -> Output:
    return each("host", args.ids, lambda host_id: client.host_status(host_id, args.status))


def host_rename(client: Client, args: argparse.Namespace) -> Output:
    client.host_rename(args.id, args.name)
    return done(args.id)


def host_monitoring(client: Client, args: argparse.Namespace) -> Output:
    sample = client.host_monitoring(args.id)
    return Output(sample, render.monitoring(f"HOST {args.id} MONITORING", sample)
                  or f"host {args.id} has not been probed yet")


def register(host: Commands) -> None:
    create = host.add("create", host_create, "register a host")
    create.add_argument("name", metavar="NAME")
    create.add_argument("-i", "--im", default="dummy", metavar="IM_MAD", help="monitoring driver (dummy)")
    create.add_argument("-v", "--vmm", default="dummy", metavar="VM_MAD", help="virtualization driver (dummy)")
    host.add("list", host_list, "list hosts")
    host.add_id("show", host_show, "show a host")
    host.add_ids("delete", host_delete, "remove a host that runs no VM", "host")
    for name, (status, summary) in HOST_STATUS_COMMANDS.items():
        host.add_ids(name, host_status, summary, "host").set_defaults(status=status)
    host.add_id("rename", host_rename, "give a host another name (its drivers use it from their next call)").add_argument(
        "name", metavar="NAME")
    host.add_update(Client.host_update, "host's template")
    host.add_id("monitoring", host_monitoring, "show the host's latest probe (free and used CPU and memory)")
