"""The ``nebula`` command, and OpenNebula's ``onevm``/``onehost``/``onevnet``/``oneuser`` as aliases.

A client of the XML-RPC API only (through nebula_core.client), so it works against any
OpenNebula 7.x front-end too. Objects are named by numeric ID, never by name. Every failure
is one line ``nebula: <message>`` on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..client import (
    VM,
    Client,
    ClientError,
    Group,
    Host,
    HostStatus,
    OneError,
    Recover,
    User,
    VMTemplate,
    VNet,
    enum_name,
)
from ..states import HistoryAction, LCMState, VMState
from ..template import Template, parse
from . import render
from .render import Column


@dataclasses.dataclass
class Output:
    """What a command produced: ``data`` for --json, ``text`` for people, ``errors`` (exit 1) for stderr."""

    data: object
    text: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


Handler = Callable[[Client, argparse.Namespace], Output]


def _blocks(*parts: str) -> str:
    """Sections of a ``show``, a blank line apart; empty ones left out."""
    return "\n\n".join(part for part in parts if part)


def _created(object_id: int) -> Output:
    return Output({"id": object_id}, f"ID: {object_id}")


def _each(kind: str, ids: Sequence[int], apply: Callable[[int], None]) -> Output:
    """Apply an operation to several objects; a refusal is reported and the others still run.

    A server that cannot be reached (code -1) stops everything at once: one line, not one per id.
    """
    done: list[int] = []
    errors: list[str] = []
    for object_id in ids:
        try:
            apply(object_id)
        except OneError as exc:
            if exc.code == -1:
                raise
            errors.append(f"{kind} {object_id}: {exc}" if len(ids) > 1 else str(exc))
        else:
            done.append(object_id)
    return Output({"ids": done}, errors=errors)


def _read(path: str) -> str:
    """A template file's text; ``-`` reads stdin."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise ClientError(f"cannot read {path}: {reason}") from None


def _int(record: dict[str, str], key: str) -> int:
    """A number in a history record or lease; 0 when absent or not a number."""
    value = record.get(key, "")
    return int(value) if value.lstrip("-").isdigit() else 0


# -- VMs -----------------------------------------------------------------------------------

VM_COLUMNS: list[Column[VM]] = [
    ("id", lambda vm: vm.id),
    ("user", lambda vm: vm.uname),
    ("name", lambda vm: vm.name),
    ("stat", render.vm_short),
    ("host", lambda vm: vm.host),
    ("cpu", lambda vm: render.number(vm.cpu)),
    ("mem", lambda vm: render.size(vm.memory * 1024)),
    ("ips", lambda vm: ",".join(vm.ips)),
    ("time", lambda vm: render.duration(vm.stime, vm.etime)),
]
HISTORY_COLUMNS: list[Column[dict[str, str]]] = [
    ("seq", lambda h: h.get("SEQ", "")),
    ("host", lambda h: h.get("HOSTNAME", "")),
    ("action", lambda h: enum_name(HistoryAction, _int(h, "ACTION")).lower().replace("_", "-")),
    ("start", lambda h: render.timestamp(_int(h, "STIME"))),
    ("end", lambda h: render.timestamp(_int(h, "ETIME"))),
    ("time", lambda h: render.duration(_int(h, "STIME"), _int(h, "ETIME"))),
]
# command -> (one.vm.action name, help); shutdown and cancel are OpenNebula 1.4's words
VM_ACTIONS: dict[str, tuple[str, str]] = {
    "terminate": ("terminate", "shut the guest down (ACPI), then delete the VM"),
    "terminate-hard": ("terminate-hard", "destroy the guest at once, then delete the VM"),
    "shutdown": ("terminate", "the same as terminate (OpenNebula 1.4's name)"),
    "cancel": ("terminate-hard", "the same as terminate-hard (OpenNebula 1.4's name)"),
    "hold": ("hold", "keep a PENDING VM from being scheduled"),
    "release": ("release", "let a HOLD VM be scheduled"),
    "stop": ("stop", "save the VM and move it off its host (STOPPED)"),
    "suspend": ("suspend", "save the VM, leaving it on its host (SUSPENDED)"),
    "resume": ("resume", "start a STOPPED, SUSPENDED, POWEROFF or UNDEPLOYED VM again"),
    "poweroff": ("poweroff", "power the guest off (ACPI), keeping it on its host"),
    "poweroff-hard": ("poweroff-hard", "power the guest off at once, keeping it on its host"),
    "undeploy": ("undeploy", "shut the guest down and free its host (UNDEPLOYED)"),
    "undeploy-hard": ("undeploy-hard", "destroy the guest and free its host (UNDEPLOYED)"),
    "reboot": ("reboot", "reboot the guest (ACPI)"),
    "reboot-hard": ("reboot-hard", "reset the guest"),
    "resched": ("resched", "ask the scheduler to move the VM to a better host"),
    "unresched": ("unresched", "withdraw a resched"),
}
STATE_NAMES = frozenset(state.name for table in (VMState, LCMState) for state in table)


def _vm_template(args: argparse.Namespace) -> str:
    """The template to allocate: FILE as written, with --name/--cpu/--memory replacing its values."""
    given = {"NAME": args.name, "CPU": None if args.cpu is None else render.number(args.cpu),
             "MEMORY": None if args.memory is None else str(args.memory)}
    shortcuts = {name: value for name, value in given.items() if value is not None}
    if args.file is None:
        if not shortcuts:
            raise ClientError("give a template FILE (- for stdin), or --cpu and --memory")
        return Template(shortcuts.items()).to_text()
    text = _read(args.file)
    if not shortcuts:
        return text
    try:
        template = parse(text)
    except ValueError as exc:
        raise ClientError(f"{args.file}: {exc}") from None
    for name, value in shortcuts.items():
        template.set(name, value)
    return template.to_text()


def vm_create(client: Client, args: argparse.Namespace) -> Output:
    return _created(client.vm_allocate(_vm_template(args), hold=args.hold))


def vm_list(client: Client, args: argparse.Namespace) -> Output:
    vms = client.vm_list(state=-2 if args.all else -1)
    return Output(vms, render.table(VM_COLUMNS, vms))


def _why_pending(vm: VM) -> str:
    """The scheduler's last word on a PENDING VM (USER_TEMPLATE/SCHED_MESSAGE), per host."""
    if vm.state != VMState.PENDING:
        return ""
    message = vm.user_template.get("SCHED_MESSAGE")
    return render.section("WHY PENDING", message if isinstance(message, str) and message
                          else "the scheduler has not tried to place it yet")


def vm_show(client: Client, args: argparse.Namespace) -> Output:
    vm = client.vm_info(args.id)
    info = render.fields(f"VIRTUAL MACHINE {vm.id} INFORMATION", [
        ("ID", vm.id), ("NAME", vm.name), ("USER", vm.uname), ("GROUP", vm.gname), ("STATE", vm.state_name),
        ("HOST", vm.host or "-"), ("CPU", render.number(vm.cpu)), ("MEMORY", render.size(vm.memory * 1024)),
        ("IPS", ", ".join(vm.ips) or "-"), ("START TIME", render.timestamp(vm.stime)),
        ("END TIME", render.timestamp(vm.etime)), ("DEPLOY ID", vm.deploy_id or "-"),
    ])
    return Output(vm, _blocks(
        info, _why_pending(vm),
        render.section("VIRTUAL MACHINE TEMPLATE", render.template_text(vm.template)),
        render.section("USER TEMPLATE", render.template_text(vm.user_template)),
        render.section("VIRTUAL MACHINE HISTORY", render.table(HISTORY_COLUMNS, vm.history) if vm.history else ""),
    ))


def vm_action(client: Client, args: argparse.Namespace) -> Output:
    return _each("VM", args.ids, lambda vm_id: client.vm_action(args.action, vm_id))


def vm_recover(client: Client, args: argparse.Namespace) -> Output:
    return _each("VM", args.ids, lambda vm_id: client.vm_recover(vm_id, args.op))


def vm_deploy(client: Client, args: argparse.Namespace) -> Output:
    client.vm_deploy(args.id, args.host_id)
    return Output({"id": args.id})


def vm_migrate(client: Client, args: argparse.Namespace) -> Output:
    client.vm_migrate(args.id, args.host_id, live=args.live)
    return Output({"id": args.id})


def vm_wait(client: Client, args: argparse.Namespace) -> Output:
    """Poll until the VM is in STATE (a VM state such as POWEROFF, or an LCM one such as RUNNING).

    Gives up at the timeout, and at once when the VM is DONE or failed, since it will not get there.
    """
    target = args.state.upper()
    if target not in STATE_NAMES:
        raise ClientError(f"unknown state {args.state!r}: give a VM or LCM state name such as RUNNING or POWEROFF")
    deadline = time.monotonic() + args.timeout
    while True:
        vm = client.vm_info(args.id)
        if target in (vm.state_name, enum_name(VMState, vm.state)):
            return Output(vm, f"VM {vm.id} is {vm.state_name}")
        if vm.state == VMState.DONE or vm.state_name.endswith("_FAILURE"):
            raise ClientError(f"VM {vm.id} is {vm.state_name}: it will not become {target}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ClientError(f"VM {vm.id} is still {vm.state_name} after {args.timeout:g} s (waited for {target})")
        time.sleep(min(args.interval, remaining))


# -- hosts ---------------------------------------------------------------------------------

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
    return _created(client.host_allocate(args.name, args.im, args.vmm))


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
    return Output(host, _blocks(info, render.section("HOST TEMPLATE", render.template_text(host.template))))


def host_delete(client: Client, args: argparse.Namespace) -> Output:
    return _each("host", args.ids, client.host_delete)


def host_status(client: Client, args: argparse.Namespace) -> Output:
    return _each("host", args.ids, lambda host_id: client.host_status(host_id, args.status))


# -- virtual networks ----------------------------------------------------------------------

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
LEASE_COLUMNS: list[Column[dict[str, str]]] = [
    ("ar", lambda lease: lease.get("AR_ID", "")),
    ("ip", lambda lease: lease.get("IP", "")),
    ("mac", lambda lease: lease.get("MAC", "")),
    ("vm", lambda lease: lease.get("VM", "")),
]


def vnet_create(client: Client, args: argparse.Namespace) -> Output:
    return _created(client.vnet_allocate(_read(args.file)))


def vnet_list(client: Client, args: argparse.Namespace) -> Output:
    vnets = client.vnet_list()
    return Output(vnets, render.table(VNET_COLUMNS, vnets))


def vnet_show(client: Client, args: argparse.Namespace) -> Output:
    vnet = client.vnet_info(args.id)
    info = render.fields(f"VIRTUAL NETWORK {vnet.id} INFORMATION", [
        ("ID", vnet.id), ("NAME", vnet.name), ("USER", vnet.uname), ("STATE", vnet.state_name),
        ("BRIDGE", vnet.bridge or "-"), ("VN_MAD", vnet.vn_mad), ("USED LEASES", _used_leases(vnet)),
    ])
    return Output(vnet, _blocks(
        info, render.section("VIRTUAL NETWORK TEMPLATE", render.template_text(vnet.template)),
        render.section("LEASES", render.table(LEASE_COLUMNS, vnet.leases) if vnet.leases else ""),
    ))


def vnet_delete(client: Client, args: argparse.Namespace) -> Output:
    return _each("virtual network", args.ids, client.vnet_delete)


# -- VM templates --------------------------------------------------------------------------

TEMPLATE_COLUMNS: list[Column[VMTemplate]] = [
    ("id", lambda template: template.id),
    ("user", lambda template: template.uname),
    ("name", lambda template: template.name),
    ("registered", lambda template: time.strftime("%Y-%m-%d %H:%M", time.localtime(template.regtime))),
]


def template_create(client: Client, args: argparse.Namespace) -> Output:
    return _created(client.template_allocate(_read(args.file)))


def template_list(client: Client, args: argparse.Namespace) -> Output:
    templates = client.template_list()
    return Output(templates, render.table(TEMPLATE_COLUMNS, templates))


def template_show(client: Client, args: argparse.Namespace) -> Output:
    template = client.template_info(args.id)
    info = render.fields(f"TEMPLATE {template.id} INFORMATION", [
        ("ID", template.id), ("NAME", template.name), ("USER", template.uname),
        ("REGISTER TIME", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(template.regtime))),
    ])
    return Output(template, _blocks(info, render.section("TEMPLATE CONTENTS", render.template_text(template.template))))


def template_instantiate(client: Client, args: argparse.Namespace) -> Output:
    return _created(client.template_instantiate(args.id, args.name or "", args.hold))


def template_delete(client: Client, args: argparse.Namespace) -> Output:
    return _each("template", args.ids, client.template_delete)


# -- groups --------------------------------------------------------------------------------

GROUP_COLUMNS: list[Column[Group]] = [
    ("id", lambda group: group.id),
    ("name", lambda group: group.name),
    ("users", lambda group: len(group.users)),
]


def group_create(client: Client, args: argparse.Namespace) -> Output:
    return _created(client.group_allocate(args.name))


def group_list(client: Client, args: argparse.Namespace) -> Output:
    groups = client.group_list()
    return Output(groups, render.table(GROUP_COLUMNS, groups))


def group_show(client: Client, args: argparse.Namespace) -> Output:
    group = client.group_info(args.id)
    return Output(group, render.fields(f"GROUP {group.id} INFORMATION", [
        ("ID", group.id), ("NAME", group.name), ("USERS", ",".join(map(str, group.users)) or "-"),
    ]))


def group_delete(client: Client, args: argparse.Namespace) -> Output:
    return _each("group", args.ids, client.group_delete)


# -- users ---------------------------------------------------------------------------------

def _enabled(user: User) -> str:
    return "yes" if user.enabled else "no"


USER_COLUMNS: list[Column[User]] = [
    ("id", lambda user: user.id),
    ("name", lambda user: user.name),
    ("group", lambda user: user.gname),
    ("auth", lambda user: user.auth_driver),
    ("enabled", _enabled),
]


def user_create(client: Client, args: argparse.Namespace) -> Output:
    return _created(client.user_allocate(args.name, args.password))


def user_list(client: Client, args: argparse.Namespace) -> Output:
    users = client.user_list()
    return Output(users, render.table(USER_COLUMNS, users))


def user_show(client: Client, args: argparse.Namespace) -> Output:
    user = client.user_info(args.id)
    return Output(user, render.fields(f"USER {user.id} INFORMATION", [
        ("ID", user.id), ("NAME", user.name), ("GROUP", user.gname), ("AUTH_DRIVER", user.auth_driver),
        ("ENABLED", _enabled(user)),
    ]))


def user_delete(client: Client, args: argparse.Namespace) -> Output:
    return _each("user", args.ids, client.user_delete)


def user_passwd(client: Client, args: argparse.Namespace) -> Output:
    client.user_passwd(args.id, args.password)
    return Output({"id": args.id})


# -- the parser ----------------------------------------------------------------------------


def _global_options(top: bool) -> argparse.ArgumentParser:
    """Options accepted at every level (``nebula --json vm list`` = ``nebula vm list --json``).

    Below the top their defaults are suppressed, so that a sub-command keeps what was given before
    it. Two instances, because parsers share their parents' action objects (and defaults).
    """
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--endpoint", metavar="URL", default=default(None),
                         help="XML-RPC endpoint (default: $ONE_XMLRPC, else http://localhost:2633/RPC2)")
    options.add_argument("--auth", metavar="USER:PASSWORD", default=default(None),
                         help="credentials (default: the first line of the file $ONE_AUTH, else ~/.one/one_auth)")
    options.add_argument("--json", action="store_true", default=default(False),
                         help="print the objects as JSON instead of tables, for scripts")
    return options


class _Commands:
    """Builds one object's sub-commands, each with the global options and its handler."""

    def __init__(self, objects: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str,
                 options: argparse.ArgumentParser) -> None:
        self.options = options
        group = objects.add_parser(name, help=summary, description=f"{summary} (named by numeric ID)", parents=[options])
        self.commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(self, name: str, run: Handler, summary: str) -> argparse.ArgumentParser:
        command = self.commands.add_parser(name, help=summary, description=summary, parents=[self.options])
        command.set_defaults(run=run)
        return command

    def add_ids(self, name: str, run: Handler, summary: str, what: str) -> argparse.ArgumentParser:
        """A command on one or more objects given by ID."""
        command = self.add(name, run, summary)
        command.add_argument("ids", metavar="ID", type=int, nargs="+", help=f"{what} ID")
        return command


def _parser() -> argparse.ArgumentParser:
    options = _global_options(top=False)
    parser = argparse.ArgumentParser(
        prog="nebula", parents=[_global_options(top=True)],
        description="Manage a Nebula (or OpenNebula 7.x) cloud through its XML-RPC API.",
        epilog="Objects are named by numeric ID only, never by name.",
    )
    objects = parser.add_subparsers(dest="object", required=True, metavar="OBJECT")
    serve = objects.add_parser("serve", help="run the daemon in the foreground (stop with SIGTERM or Ctrl-C)")
    serve.add_argument("--config", help="TOML configuration file (default: $NEBULA_CONFIG, else built-in defaults)")

    vm = _Commands(objects, "vm", "virtual machines", options)
    create = vm.add("create", vm_create, "create a VM from a template file, or from --name/--cpu/--memory")
    create.add_argument("file", metavar="FILE", nargs="?", help="template file, - for stdin")
    create.add_argument("--hold", action="store_true", help="create it in HOLD, not to be scheduled until released")
    create.add_argument("--name", help="NAME of the VM (replaces the file's)")
    create.add_argument("--cpu", type=float, help="CPU, in physical cores (replaces the file's)")
    create.add_argument("--memory", type=int, metavar="MB", help="MEMORY in MB (replaces the file's)")
    vm.add("list", vm_list, "list VMs").add_argument("--all", action="store_true", help="include DONE VMs")
    vm.add("show", vm_show, "show a VM, its template, its history, and why it is PENDING").add_argument(
        "id", metavar="ID", type=int)
    for name, (action, summary) in VM_ACTIONS.items():
        vm.add_ids(name, vm_action, summary, "VM").set_defaults(action=action)
    deploy = vm.add("deploy", vm_deploy, "place a VM on a host now, bypassing the scheduler")
    migrate = vm.add("migrate", vm_migrate, "move a RUNNING VM to another host")
    for command in (deploy, migrate):
        command.add_argument("id", metavar="ID", type=int)
        command.add_argument("host_id", metavar="HOST_ID", type=int)
    migrate.add_argument("--live", action="store_true", help="migrate without stopping the guest")
    recover = vm.add_ids("recover", vm_recover, "settle a VM stuck in a failure or transient state", "VM")
    ops = recover.add_mutually_exclusive_group(required=True)
    for flag, op, summary in (("--success", Recover.SUCCESS, "as if the pending operation succeeded"),
                           ("--failure", Recover.FAILURE, "as if the pending operation failed"),
                           ("--retry", Recover.RETRY, "run the failed operation again"),
                           ("--delete", Recover.DELETE, "delete the VM, in any state"),
                           ("--recreate", Recover.DELETE_RECREATE, "delete the VM and submit it again, same ID")):
        ops.add_argument(flag, dest="op", action="store_const", const=op, help=summary)
    vm.add_ids("delete", vm_recover, "delete a VM in any state (= recover --delete)", "VM").set_defaults(op=Recover.DELETE)
    wait = vm.add("wait", vm_wait, "wait until a VM is in a state, e.g. RUNNING (exit 1 on timeout)")
    wait.add_argument("id", metavar="ID", type=int)
    wait.add_argument("state", metavar="STATE", help="a VM state (POWEROFF, DONE...) or LCM state (RUNNING...)")
    wait.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S seconds (300)")
    wait.add_argument("--interval", type=float, default=1.0, metavar="S", help="poll every S seconds (1)")

    host = _Commands(objects, "host", "hosts", options)
    create = host.add("create", host_create, "register a host")
    create.add_argument("name", metavar="NAME")
    create.add_argument("-i", "--im", default="dummy", metavar="IM_MAD", help="monitoring driver (dummy)")
    create.add_argument("-v", "--vmm", default="dummy", metavar="VM_MAD", help="virtualization driver (dummy)")
    host.add("list", host_list, "list hosts")
    host.add("show", host_show, "show a host").add_argument("id", metavar="ID", type=int)
    host.add_ids("delete", host_delete, "remove a host that runs no VM", "host")
    for name, (status, summary) in HOST_STATUS_COMMANDS.items():
        host.add_ids(name, host_status, summary, "host").set_defaults(status=status)

    vnet = _Commands(objects, "vnet", "virtual networks", options)
    vnet.add("create", vnet_create, "create a virtual network from a template file").add_argument(
        "file", metavar="FILE", help="template file, - for stdin")
    vnet.add("list", vnet_list, "list virtual networks")
    vnet.add("show", vnet_show, "show a virtual network and its leases").add_argument("id", metavar="ID", type=int)
    vnet.add_ids("delete", vnet_delete, "delete virtual networks whose leases are all free", "virtual network")

    template = _Commands(objects, "template", "VM templates", options)
    template.add("create", template_create, "register a VM template from a file").add_argument(
        "file", metavar="FILE", help="template file, - for stdin")
    template.add("list", template_list, "list VM templates")
    template.add("show", template_show, "show a VM template").add_argument("id", metavar="ID", type=int)
    instantiate = template.add("instantiate", template_instantiate, "create a VM from a template")
    instantiate.add_argument("id", metavar="ID", type=int)
    instantiate.add_argument("--name", help="NAME of the VM (default: <template name>-<id>)")
    instantiate.add_argument("--hold", action="store_true", help="create it in HOLD")
    template.add_ids("delete", template_delete, "delete VM templates (their VMs stay)", "template")

    group = _Commands(objects, "group", "groups", options)
    group.add("create", group_create, "create a group").add_argument("name", metavar="NAME")
    group.add("list", group_list, "list groups")
    group.add("show", group_show, "show a group and its users (-1: yours)").add_argument("id", metavar="ID", type=int)
    group.add_ids("delete", group_delete, "delete groups that have no users", "group")

    user = _Commands(objects, "user", "users", options)
    create = user.add("create", user_create, "create a user (core authentication, group users)")
    create.add_argument("name", metavar="NAME")
    create.add_argument("password", metavar="PASSWORD")
    user.add("list", user_list, "list users")
    user.add("show", user_show, "show a user (-1: yourself)").add_argument("id", metavar="ID", type=int)
    user.add_ids("delete", user_delete, "delete users", "user")
    passwd = user.add("passwd", user_passwd, "change a user's password")
    passwd.add_argument("id", metavar="ID", type=int)
    passwd.add_argument("password", metavar="PASSWORD")
    return parser


# -- entry points --------------------------------------------------------------------------


def _fail(message: str, status: int = 1) -> int:
    """Report on one line, whatever the message holds."""
    print("nebula: " + " ".join(message.split()), file=sys.stderr)
    return status


def _plain(data: object) -> object:
    """JSON for the client's dataclasses."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return dataclasses.asdict(data)
    raise TypeError(f"{type(data).__name__} is not JSON serializable")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status: 0 done, 1 refused or failed (2 for a usage error, by argparse)."""
    args = _parser().parse_args(argv)
    if args.object == "serve":
        from ..daemon import serve  # the daemon's imports are not needed for client commands

        return serve(args.config)
    try:
        output = args.run(Client(args.endpoint, args.auth), args)
    except ClientError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    text = json.dumps(output.data, default=_plain, indent=2) if args.json else output.text
    if text:
        print(text)
    for error in output.errors:
        _fail(error)
    return 1 if output.errors else 0


def _alias(kind: str) -> int:
    return main([kind, *sys.argv[1:]])


def onevm() -> int:
    """``onevm ...`` = ``nebula vm ...``"""
    return _alias("vm")


def onehost() -> int:
    """``onehost ...`` = ``nebula host ...``"""
    return _alias("host")


def onevnet() -> int:
    """``onevnet ...`` = ``nebula vnet ...``"""
    return _alias("vnet")


def onetemplate() -> int:
    """``onetemplate ...`` = ``nebula template ...``"""
    return _alias("template")


def onegroup() -> int:
    """``onegroup ...`` = ``nebula group ...``"""
    return _alias("group")


def oneuser() -> int:
    """``oneuser ...`` = ``nebula user ...``"""
    return _alias("user")
