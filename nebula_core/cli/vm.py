"""``nebula vm`` (``onevm``): create, list, show and act on virtual machines."""

from __future__ import annotations

import argparse
import time

from ..client import VM, Client, ClientError, Kind, Recover, enum_name
from ..states import HistoryAction, LCMState, VMState
from ..template import Template, parse
from . import owned, render
from .common import Commands, Output, blocks, created, done, each, read
from .render import Column


def _int(record: dict[str, str], key: str) -> int:
    """A number in a history record; 0 when absent or not a number."""
    value = record.get(key, "")
    return int(value) if value.lstrip("-").isdigit() else 0


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
    text = read(args.file)
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
    return created(client.vm_allocate(_vm_template(args), hold=args.hold))


def vm_list(client: Client, args: argparse.Namespace) -> Output:
    vms = client.vm_list(args.filter, state=-2 if args.all else -1)
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
        *render.lock(vm.lock),
        ("HOST", vm.host or "-"), ("CPU", render.number(vm.cpu)), ("MEMORY", render.size(vm.memory * 1024)),
        ("IPS", ", ".join(vm.ips) or "-"), ("START TIME", render.timestamp(vm.stime)),
        ("END TIME", render.timestamp(vm.etime)), ("DEPLOY ID", vm.deploy_id or "-"),
    ])
    return Output(vm, blocks(
        info, render.permissions(vm.permissions), _why_pending(vm),
        render.section("VIRTUAL MACHINE TEMPLATE", render.template_text(vm.template)),
        render.section("USER TEMPLATE", render.template_text(vm.user_template)),
        render.section("VIRTUAL MACHINE HISTORY", render.table(HISTORY_COLUMNS, vm.history) if vm.history else ""),
    ))


def vm_action(client: Client, args: argparse.Namespace) -> Output:
    return each("VM", args.ids, lambda vm_id: client.vm_action(args.action, vm_id))


def vm_recover(client: Client, args: argparse.Namespace) -> Output:
    return each("VM", args.ids, lambda vm_id: client.vm_recover(vm_id, args.op))


def vm_deploy(client: Client, args: argparse.Namespace) -> Output:
    client.vm_deploy(args.id, args.host_id)
    return done(args.id)


def vm_migrate(client: Client, args: argparse.Namespace) -> Output:
    client.vm_migrate(args.id, args.host_id, live=args.live)
    return done(args.id)


def vm_resize(client: Client, args: argparse.Namespace) -> Output:
    if args.cpu is None and args.vcpu is None and args.memory is None:
        raise ClientError("give the new size: --cpu, --vcpu and/or --memory")
    client.vm_resize(args.id, cpu=args.cpu, vcpu=args.vcpu, memory=args.memory, enforce=args.enforce)
    return done(args.id)


def vm_monitoring(client: Client, args: argparse.Namespace) -> Output:
    sample = client.vm_monitoring(args.id)
    return Output(sample, render.monitoring(f"VIRTUAL MACHINE {args.id} MONITORING", sample)
                  or f"VM {args.id} has not been monitored yet")


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


def register(vm: Commands) -> None:
    create = vm.add("create", vm_create, "create a VM from a template file, or from --name/--cpu/--memory")
    create.add_argument("file", metavar="FILE", nargs="?", help="template file, - for stdin")
    create.add_argument("--hold", action="store_true", help="create it in HOLD, not to be scheduled until released")
    create.add_argument("--name", help="NAME of the VM (replaces the file's)")
    create.add_argument("--cpu", type=float, help="CPU, in physical cores (replaces the file's)")
    create.add_argument("--memory", type=int, metavar="MB", help="MEMORY in MB (replaces the file's)")
    vm.add_list(vm_list, "list VMs").add_argument("--all", action="store_true", help="include DONE VMs")
    vm.add_id("show", vm_show, "show a VM, its template, its history, and why it is PENDING")
    for name, (action, summary) in VM_ACTIONS.items():
        vm.add_ids(name, vm_action, summary, "VM").set_defaults(action=action)
    deploy = vm.add_id("deploy", vm_deploy, "place a VM on a host now, bypassing the scheduler")
    migrate = vm.add_id("migrate", vm_migrate, "move a RUNNING VM to another host")
    for command in (deploy, migrate):
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
    wait = vm.add_id("wait", vm_wait, "wait until a VM is in a state, e.g. RUNNING (exit 1 on timeout)")
    wait.add_argument("state", metavar="STATE", help="a VM state (POWEROFF, DONE...) or LCM state (RUNNING...)")
    wait.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S seconds (300)")
    wait.add_argument("--interval", type=float, default=1.0, metavar="S", help="poll every S seconds (1)")
    resize = vm.add_id("resize", vm_resize, "change the CPU, VCPU or MEMORY of a VM that is not running "
                                            "(PENDING, HOLD, POWEROFF, UNDEPLOYED)")
    resize.add_argument("--cpu", type=float, help="CPU, in physical cores")
    resize.add_argument("--vcpu", type=int, help="virtual CPUs the guest sees")
    resize.add_argument("--memory", type=int, metavar="MB", help="MEMORY in MB")
    resize.add_argument("--enforce", action=argparse.BooleanOptionalAction, default=True,
                        help="refuse to grow a placed VM beyond what its host has free (default: enforce)")
    vm.add_id("monitoring", vm_monitoring, "show the VM's latest monitoring sample")
    owned.register(vm, Kind.VM, "VM", "VM's user template")
