"""Fault tolerance: when a host goes to ERROR, the VMs it ran are brought back on other hosts.

OpenNebula ships this as the ``host_error`` hook; here it is a hook plugin (``nebula.hooks``
entry point ``fault-tolerance``) that acts through the API, as any client would. What it does is
the admin's choice, in the daemon's environment:

- ``NEBULA_FT_MODE``: ``recreate`` (``one.vm.recover`` 4: the VM is scheduled again from its
  template, same ID, on a host that works) or ``delete`` (recover 3). Unset, the plugin does
  nothing: installing it changes no behaviour until the admin chooses.
- ``NEBULA_FT_GRACE``: seconds to wait before acting, so that a host that only blinked is left
  alone (default 0; at most the hook timeout).

Only the VMs that the host error left UNKNOWN are touched. The host event may arrive twice
(after a daemon restart): a VM already moved is no longer on the host, so nothing happens twice.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from nebula_core.client import Client, OneError, Recover
from nebula_core.hooks import hookimpl
from nebula_core.hooks.events import DaemonStarted, HostStateChanged
from nebula_core.states import LCMState, VMState

log = logging.getLogger(__name__)

MODES = {"recreate": Recover.DELETE_RECREATE, "delete": Recover.DELETE}


class HostErrorRecovery:
    """The plugin: remembers how to reach the API, and recovers VMs when a host fails."""

    def __init__(self) -> None:
        self.endpoint = ""
        self.one_auth = ""

    @hookimpl
    def daemon_started(self, event: DaemonStarted) -> None:
        self.endpoint, self.one_auth = event.endpoint, event.one_auth

    @hookimpl
    def host_state_changed(self, event: HostStateChanged) -> None:
        if event.state != "ERROR":
            return
        mode = os.environ.get("NEBULA_FT_MODE", "")
        if not mode:
            return
        if mode not in MODES:
            log.error("NEBULA_FT_MODE must be one of %s, not %r: VMs of host %s left as they are",
                      ", ".join(MODES), mode, event.name)
            return
        time.sleep(float(os.environ.get("NEBULA_FT_GRACE", "0")))
        client = Client(self.endpoint, Path(self.one_auth).read_text().splitlines()[0].strip(), timeout=10)
        if client.host_info(event.host_id).state_name != "ERROR":
            log.info("host %s is back: its VMs stay", event.name)
            return
        for vm in client.vm_list():
            if vm.host == event.name and (vm.state, vm.lcm_state) == (VMState.ACTIVE, LCMState.UNKNOWN):
                try:
                    client.vm_recover(vm.id, MODES[mode])
                    log.warning("host %s in ERROR: VM %d %s", event.name, vm.id, "recreated" if mode == "recreate" else "deleted")
                except OneError as exc:
                    log.error("host %s in ERROR: VM %d not recovered: %s", event.name, vm.id, exc)


plugin = HostErrorRecovery()
