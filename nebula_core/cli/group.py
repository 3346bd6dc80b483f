"""``nebula group`` (``onegroup``): groups of users (made and removed by admins)."""

from __future__ import annotations

import argparse

from ..client import Client, Group
from . import render
from .common import Commands, Output, blocks, created, each
from .render import Column

GROUP_COLUMNS: list[Column[Group]] = [
    ("id", lambda group: group.id),
    ("name", lambda group: group.name),
    ("users", lambda group: len(group.users)),
]


def group_create(client: Client, args: argparse.Namespace) -> Output:
    return created(client.group_allocate(args.name))


def group_list(client: Client, args: argparse.Namespace) -> Output:
    groups = client.group_list()
    return Output(groups, render.table(GROUP_COLUMNS, groups))


def group_show(client: Client, args: argparse.Namespace) -> Output:
    group = client.group_info(args.id)
    info = render.fields(f"GROUP {group.id} INFORMATION", [
        ("ID", group.id), ("NAME", group.name), ("USERS", ",".join(map(str, group.users)) or "-"),
    ])
    return Output(group, blocks(info, render.section("GROUP TEMPLATE", render.template_text(group.template))))


def group_delete(client: Client, args: argparse.Namespace) -> Output:
    return each("group", args.ids, client.group_delete)


def register(group: Commands) -> None:
    group.add("create", group_create, "create a group").add_argument("name", metavar="NAME")
    group.add("list", group_list, "list groups")
    group.add_id("show", group_show, "show a group and its users (-1: yours)")
    group.add_ids("delete", group_delete, "delete groups that have no users", "group")
    group.add_update(Client.group_update, "group's template")
