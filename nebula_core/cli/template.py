"""``nebula template`` (``onetemplate``): VM templates that users register, share and instantiate."""

from __future__ import annotations

import argparse
import time

from ..client import Client, Kind, VMTemplate
from . import owned, render
from .common import Commands, Output, blocks, created, each, read
from .render import Column

TEMPLATE_COLUMNS: list[Column[VMTemplate]] = [
    ("id", lambda template: template.id),
    ("user", lambda template: template.uname),
    ("name", lambda template: template.name),
    ("registered", lambda template: time.strftime("%Y-%m-%d %H:%M", time.localtime(template.regtime))),
]


def template_create(client: Client, args: argparse.Namespace) -> Output:
    return created(client.template_allocate(read(args.file)))


def template_list(client: Client, args: argparse.Namespace) -> Output:
    templates = client.template_list(args.filter)
    return Output(templates, render.table(TEMPLATE_COLUMNS, templates))


def template_show(client: Client, args: argparse.Namespace) -> Output:
    template = client.template_info(args.id)
    info = render.fields(f"TEMPLATE {template.id} INFORMATION", [
        ("ID", template.id), ("NAME", template.name), ("USER", template.uname), ("GROUP", template.gname),
        *render.lock(template.lock),
        ("REGISTER TIME", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(template.regtime))),
    ])
    return Output(template, blocks(
        info, render.permissions(template.permissions),
        render.section("TEMPLATE CONTENTS", render.template_text(template.template)),
    ))


def template_instantiate(client: Client, args: argparse.Namespace) -> Output:
    return created(client.template_instantiate(args.id, args.name or "", args.hold))


def template_clone(client: Client, args: argparse.Namespace) -> Output:
    return created(client.template_clone(args.id, args.name))


def template_delete(client: Client, args: argparse.Namespace) -> Output:
    return each("template", args.ids, client.template_delete)


def register(template: Commands) -> None:
    template.add("create", template_create, "register a VM template from a file").add_argument(
        "file", metavar="FILE", help="template file, - for stdin")
    template.add_list(template_list, "list VM templates")
    template.add_id("show", template_show, "show a VM template")
    instantiate = template.add_id("instantiate", template_instantiate, "create a VM from a template")
    instantiate.add_argument("--name", help="NAME of the VM (default: <template name>-<id>)")
    instantiate.add_argument("--hold", action="store_true", help="create it in HOLD")
    template.add_id("clone", template_clone, "copy a template under a new name, as yours").add_argument(
        "name", metavar="NAME")
    template.add_ids("delete", template_delete, "delete VM templates (their VMs stay)", "template")
    owned.register(template, Kind.TEMPLATE, "template", "template's contents")
