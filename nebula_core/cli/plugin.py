"""``nebula plugin``: the plugins installed on this machine, read locally (no API call, no credentials).

``plugin list`` shows every entry point of Nebula's namespaces with its distribution and version,
after trying to load it as the daemon would. A plugin that fails to load is listed with STATUS
``error`` and its reason, ``TypeName: message``, on stderr; the exit status is then 1, so that
scripts and CI notice a broken installation, though the listing itself is complete.
"""

from __future__ import annotations

import argparse
import dataclasses

from . import render
from .common import Commands, Output


def plugin_list(args: argparse.Namespace) -> Output:
    from ..plugins import Plugin, discover  # only this command needs the driver interfaces

    plugins = discover()
    columns: list[render.Column[Plugin]] = [
        ("namespace", lambda p: p.namespace),
        ("name", lambda p: p.name),
        ("distribution", lambda p: p.distribution),
        ("version", lambda p: p.version),
        ("status", lambda p: "ok" if p.ok else "error"),
    ]
    errors = [f"{p.namespace} {p.name} ({p.distribution} {p.version}): {p.error}" for p in plugins if not p.ok]
    return Output([dataclasses.asdict(p) for p in plugins], render.table(columns, plugins), errors)


def register(plugin: Commands) -> None:
    plugin.add_local("list", plugin_list, "list installed plugins per namespace, with load errors (exit 1 if any)")
