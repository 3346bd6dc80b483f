"""``nebula hook``: script hooks (admins only), and their execution log.

No ``onehook`` alias: opennebula-cli ships its own.
"""

from __future__ import annotations

import argparse

from ..client import Client, Hook, HookRecord
from . import render
from .common import Commands, Output, blocks, created, done, each, read
from .render import Column

HOOK_COLUMNS: list[Column[Hook]] = [
    ("id", lambda hook: hook.id),
    ("name", lambda hook: hook.name),
    ("type", lambda hook: hook.type),
]
RECORD_COLUMNS: list[Column[HookRecord]] = [
    ("id", lambda record: record.execution_id),
    ("time", lambda record: render.timestamp(record.timestamp)),
    ("code", lambda record: record.code),
    ("retry", lambda record: "yes" if record.retry else "no"),
    ("command", lambda record: record.command),
]
LOG_COLUMNS: list[Column[HookRecord]] = [("hook", lambda record: record.hook_id), *RECORD_COLUMNS]


def hook_create(client: Client, args: argparse.Namespace) -> Output:
    return created(client.hook_allocate(read(args.file)))


def hook_list(client: Client, args: argparse.Namespace) -> Output:
    hooks = client.hook_list()
    return Output(hooks, render.table(HOOK_COLUMNS, hooks))


def hook_show(client: Client, args: argparse.Namespace) -> Output:
    hook = client.hook_info(args.id)
    info = render.fields(f"HOOK {hook.id} INFORMATION", [
        ("ID", hook.id), ("NAME", hook.name), ("TYPE", hook.type), *render.lock(hook.lock),
    ])
    log = render.table(RECORD_COLUMNS, hook.log) if hook.log else ""
    return Output(hook, blocks(info, render.section("HOOK TEMPLATE", render.template_text(hook.template)),
                               render.section("EXECUTION LOG", log)))


def hook_delete(client: Client, args: argparse.Namespace) -> Output:
    return each("hook", args.ids, client.hook_delete)


def hook_retry(client: Client, args: argparse.Namespace) -> Output:
    client.hook_retry(args.id, args.execution_id)
    return done(args.id)


def hook_log(client: Client, args: argparse.Namespace) -> Output:
    records = client.hook_log(hook_id=args.hook, rc=args.rc)
    return Output(records, render.table(LOG_COLUMNS, records))


def register(group: Commands) -> None:
    group.add("create", hook_create, "create a hook from a template file").add_argument(
        "file", metavar="FILE", help="template file, - for stdin")
    group.add("list", hook_list, "list hooks")
    group.add_id("show", hook_show, "show a hook, its template and its execution log")
    group.add_ids("delete", hook_delete, "delete hooks and their logs", "hook")
    group.add_id("retry", hook_retry, "run a recorded execution again").add_argument(
        "execution_id", metavar="EXECUTION_ID", type=int)
    group.add_update(Client.hook_update, "hook's template")
    log = group.add("log", hook_log, "the execution log of every hook (or one)")
    log.add_argument("--hook", metavar="ID", type=int, default=-1, help="one hook's runs only")
    outcome = log.add_mutually_exclusive_group()
    outcome.add_argument("--failed", dest="rc", action="store_const", const=-1, default=0, help="failed runs only")
    outcome.add_argument("--succeeded", dest="rc", action="store_const", const=1, help="successful runs only")
