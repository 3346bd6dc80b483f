"""The commands VMs, virtual networks and VM templates share, with OpenNebula's names: chmod, chown,
chgrp, rename, update, lock and unlock. ``register`` adds them to one object's commands.
"""

from __future__ import annotations

import argparse

from ..client import Client, Kind
from ..permissions import LockLevel, octal
from .common import Commands, Output, checked, done, each

LOCK_FLAGS: dict[str, tuple[LockLevel, str]] = {
    "--use": (LockLevel.USE, "refuse everything but reading it (the default)"),
    "--manage": (LockLevel.MANAGE, "refuse MANAGE and ADMIN operations (actions, update, delete...)"),
    "--admin": (LockLevel.ADMIN, "refuse ADMIN operations only"),
    "--all": (LockLevel.ALL, "the same as --use (OpenNebula's other name)"),
}


def chmod(client: Client, args: argparse.Namespace) -> Output:
    client.chmod(args.kind, args.id, args.octal)
    return done(args.id)


def chown(client: Client, args: argparse.Namespace) -> Output:
    client.chown(args.kind, args.id, args.uid, args.gid)
    return done(args.id)


def rename(client: Client, args: argparse.Namespace) -> Output:
    client.rename(args.kind, args.id, args.name)
    return done(args.id)


def lock(client: Client, args: argparse.Namespace) -> Output:
    return each(args.what, args.ids, lambda object_id: client.lock(args.kind, object_id, args.level))


def unlock(client: Client, args: argparse.Namespace) -> Output:
    return each(args.what, args.ids, lambda object_id: client.unlock(args.kind, object_id))


def register(commands: Commands, kind: Kind, what: str, attributes: str) -> None:
    """Add the shared commands for ``kind``; ``what`` names one object in messages ("VM"), ``attributes``
    what ``update`` replaces ("VM's user template")."""
    chmod_ = commands.add_id("chmod", chmod, f"set the {what}'s permissions in octal, e.g. 640 (owner um-, group u--)")
    chmod_.add_argument("octal", metavar="OCTAL", type=checked(octal),
                        help="three digits for owner, group, other: use 4 + manage 2 + admin 1")
    chown_ = commands.add_id("chown", chown, f"give the {what} another owner (and group)")
    chown_.add_argument("uid", metavar="UID", type=int, help="the new owner's user ID")
    chown_.add_argument("gid", metavar="GID", type=int, nargs="?", default=-1, help="the new group's ID (default: kept)")
    chgrp = commands.add_id("chgrp", chown, f"move the {what} into another group")
    chgrp.add_argument("gid", metavar="GID", type=int, help="the new group's ID")
    chgrp.set_defaults(uid=-1)
    rename_ = commands.add_id("rename", rename, f"give the {what} another name")
    rename_.add_argument("name", metavar="NAME")
    update = commands.add_update(lambda client, object_id, text, append: client.update(kind, object_id, text, append),
                                 attributes)
    lock_ = commands.add_ids("lock", lock, f"refuse operations on the {what} until unlock", what)
    levels = lock_.add_mutually_exclusive_group()
    for flag, (level, summary) in LOCK_FLAGS.items():
        levels.add_argument(flag, dest="level", action="store_const", const=level, help=summary)
    lock_.set_defaults(level=LockLevel.USE)
    unlock_ = commands.add_ids("unlock", unlock, f"lift the {what}'s lock", what)
    for command in (chmod_, chown_, chgrp, rename_, update, lock_, unlock_):
        command.set_defaults(kind=kind, what=what)
