"""The ``nebula`` command, and OpenNebula's ``onevm``/``onehost``/``onevnet``/``oneuser`` as aliases.

A client of the XML-RPC API only (through nebula_core.client), so it works against any
OpenNebula 7.x front-end too. Objects are named by numeric ID, never by name. Every failure
is one line ``nebula: <message>`` on stderr and exit status 1.

Each object's commands live in a module of their own (vm, host, vnet, template, group, user, hook;
owned holds those VMs, networks and templates share); this one assembles the parser and runs it.
``serve`` and ``plugin`` are the exceptions: they act on this machine, with no client.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence

from ..client import Client, ClientError
from . import group, hook, host, plugin, template, user, vm, vnet
from .common import Commands

# object -> (summary, the module that adds its commands), in the order of ``nebula --help``
OBJECTS = {
    "vm": ("virtual machines", vm.register),
    "host": ("hosts", host.register),
    "vnet": ("virtual networks", vnet.register),
    "template": ("VM templates", template.register),
    "group": ("groups", group.register),
    "user": ("users", user.register),
    "hook": ("script hooks", hook.register),
}


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
    for name, (summary, register) in OBJECTS.items():
        register(Commands(objects, name, summary, options))
    plugin.register(Commands(objects, "plugin", "installed plugins", options,
                             "the plugins installed on this machine (read locally: no API call, no credentials)"))
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
    run_local = getattr(args, "run_local", None)  # commands such as ``plugin list`` need no front-end
    try:
        output = run_local(args) if run_local is not None else args.run(Client(args.endpoint, args.auth), args)
    except ClientError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    text = json.dumps(output.data, default=_plain, indent=2) if args.json else output.text
    if text:
        try:
            print(text, flush=True)
        except BrokenPipeError:  # `nebula vm list | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
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
