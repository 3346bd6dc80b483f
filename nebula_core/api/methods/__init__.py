"""The API's methods: OpenNebula's names and argument lists over the core's services.

One module per method prefix (``one.vm.*`` in ``vm.py`` ...); each registers its handlers,
declared with their parameters (the types xmlrpc-c would check) and who may call them, into one
table. The 1.4 names that differ (``one.host.enable``, the action names ``shutdown``,
``cancel``, ``finalize`` ...) map onto the same life-cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..rpc import MethodTable
from . import group, hook, host, system, template, user, vm, vn

if TYPE_CHECKING:
    from ...daemon import Cloud

MODULES = (system, vm, host, vn, template, user, group, hook)


def build(cloud: Cloud) -> MethodTable:
    """The method table for one daemon."""
    table = MethodTable()
    for module in MODULES:
        module.register(table, cloud)
    return table
