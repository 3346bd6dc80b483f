"""What every object's commands share: a command's Output, one operation on several IDs, template
files, the argument types, and Commands, which builds one object's sub-commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..client import Client, ClientError, OneError, PoolFilter

# ``list [FILTER]``, as OpenNebula's CLI reads its filter flag (a user ID works too)
FILTER_WORDS = {"a": PoolFilter.ALL, "all": PoolFilter.ALL, "m": PoolFilter.MINE, "mine": PoolFilter.MINE,
                "g": PoolFilter.GROUP, "group": PoolFilter.GROUP, "G": PoolFilter.PRIMARY_GROUP,
                "primary": PoolFilter.PRIMARY_GROUP}


@dataclasses.dataclass
class Output:
    """What a command produced: ``data`` for --json, ``text`` for people, ``errors`` (exit 1) for stderr."""

    data: object
    text: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)


Handler = Callable[[Client, argparse.Namespace], Output]
LocalHandler = Callable[[argparse.Namespace], Output]  # a command that needs no front-end (``plugin list``)


def blocks(*parts: str) -> str:
    """Sections of a ``show``, a blank line apart; empty ones left out."""
    return "\n\n".join(part for part in parts if part)


def created(object_id: int) -> Output:
    """A new object: ``ID: 7`` (``{"id": 7}``)."""
    return Output({"id": object_id}, f"ID: {object_id}")


def done(object_id: int) -> Output:
    """A change to one object: nothing printed (``{"id": 7}`` with --json)."""
    return Output({"id": object_id})


def each(kind: str, ids: Sequence[int], apply: Callable[[int], None]) -> Output:
    """Apply an operation to several objects; a refusal is reported and the others still run.

    A server that cannot be reached (code -1) stops everything at once: one line, not one per id.
    """
    applied: list[int] = []
    errors: list[str] = []
    for object_id in ids:
        try:
            apply(object_id)
        except OneError as exc:
            if exc.code == -1:
                raise
            errors.append(f"{kind} {object_id}: {exc}" if len(ids) > 1 else str(exc))
        else:
            applied.append(object_id)
    return Output({"ids": applied}, errors=errors)


def read(path: str) -> str:
    """A template file's text; ``-`` reads stdin."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise ClientError(f"cannot read {path}: {reason}") from None


def checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type that keeps the text once ``check`` (a client helper raising ValueError) accepts it,
    so that a malformed argument is a usage error before anything is sent."""
    def argument(text: str) -> str:
        try:
            check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    return argument


def pool_filter(text: str) -> int:
    """FILTER of ``list``: a, m, g, G (OpenNebula's words) or a user ID."""
    if text in FILTER_WORDS:
        return int(FILTER_WORDS[text])
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is none of a(ll), m(ine), g(roup), G (primary group) or a user ID")


class Commands:
    """Builds one object's sub-commands, each with the global options and its handler."""

    def __init__(self, objects: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str,
                 options: argparse.ArgumentParser, description: str | None = None) -> None:
        self.options = options
        description = description or f"{summary} (named by numeric ID)"
        group = objects.add_parser(name, help=summary, description=description, parents=[options])
        self.commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(self, name: str, run: Handler, summary: str) -> argparse.ArgumentParser:
        command = self.commands.add_parser(name, help=summary, description=summary, parents=[self.options])
        command.set_defaults(run=run)
        return command

    def add_local(self, name: str, run: LocalHandler, summary: str) -> argparse.ArgumentParser:
        """A command that runs on this machine alone: no API call, so no client and no credentials."""
        command = self.commands.add_parser(name, help=summary, description=summary, parents=[self.options])
        command.set_defaults(run_local=run)
        return command

    def add_id(self, name: str, run: Handler, summary: str) -> argparse.ArgumentParser:
        """A command on one object given by ID (more arguments may follow)."""
        command = self.add(name, run, summary)
        command.add_argument("id", metavar="ID", type=int)
        return command

    def add_ids(self, name: str, run: Handler, summary: str, what: str) -> argparse.ArgumentParser:
        """A command on one or more objects given by ID."""
        command = self.add(name, run, summary)
        command.add_argument("ids", metavar="ID", type=int, nargs="+", help=f"{what} ID")
        return command

    def add_list(self, run: Handler, summary: str) -> argparse.ArgumentParser:
        """``list [FILTER]``: whose objects, by OpenNebula's filter flag (default: all the caller may use)."""
        command = self.add("list", run, summary)
        command.add_argument("filter", metavar="FILTER", type=pool_filter, nargs="?", default=int(PoolFilter.ALL),
                             help="a(ll) (default), m(ine), g(roup: mine and my groups'), G (my primary group's), "
                                  "or a user ID")
        return command

    def add_update(self, update: Callable[[Client, int, str, bool], None], what: str) -> argparse.ArgumentParser:
        """``update ID FILE [--append]`` with ``update(client, id, text, append)``, e.g. Client.host_update."""
        def run(client: Client, args: argparse.Namespace) -> Output:
            update(client, args.id, read(args.file), args.append)
            return done(args.id)

        command = self.add_id("update", run, f"replace the {what} with FILE's attributes (or merge them: --append)")
        command.add_argument("file", metavar="FILE", help="template file, - for stdin")
        command.add_argument("--append", action="store_true", help="merge into the current attributes")
        return command
