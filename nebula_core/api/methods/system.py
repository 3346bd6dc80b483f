"""``one.system.*``: what the daemon speaks and how it is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...users import Principal
from .. import views
from ..rpc import MethodTable

if TYPE_CHECKING:
    from ...daemon import Cloud

VERSION = "7.4.0"  # opennebula-cli refuses servers that do not say 7.0 or 7.4


def register(table: MethodTable, cloud: Cloud) -> None:
    @table.add("one.system.version", access="any user")
    def system_version(caller: Principal) -> str:
        """The OpenNebula version this API speaks."""
        return VERSION

    @table.add("one.system.config", access="any user (the database only for admins)")
    def system_config(caller: Principal) -> str:
        """The daemon's configuration (admins also see where the database is)."""
        cfg = cloud.config
        items = {"PORT": cfg.api.port, "SCHED_INTERVAL": cfg.scheduler.interval,
                 "MONITORING_INTERVAL_HOST": cfg.monitor.host_interval, "MONITORING_INTERVAL_VM": cfg.monitor.vm_interval,
                 "MAC_PREFIX": cfg.network.mac_prefix, "VERSION": VERSION}
        if caller.is_admin:
            items["DB"] = cfg.database_url.split("@")[-1]
        return views.pool("OPENNEBULA_CONFIGURATION", (views.element(k, str(v)) for k, v in items.items()))
