"""A daemon killed with SIGKILL mid-work comes back with no VM, host or lease lost."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from helpers import connect, free_port, start_daemon, stop_daemon, wait_for

from nebula_core.states import LCMState, VMState

VMS = 12


def test_sigkill_mid_work_loses_nothing(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    daemon = start_daemon(tmp_path, database_url, port)
    try:
        one = connect(tmp_path, port)
        host_id = one.host.allocate("node1", "dummy", "dummy", -1)
        vnet_id = one.vn.allocate('NAME = "lan" AR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "100" ]', -1)
        wait_for(lambda: one.host.info(host_id).STATE == 2, what="host MONITORED")
        ids = [one.vm.allocate(f'CPU = 0.1 MEMORY = 32 DUMMY_DELAY = "0.4" NIC = [ NETWORK_ID = "{vnet_id}" ]') for _ in range(VMS)]
        wait_for(lambda: sum(one.vm.info(i).STATE == VMState.ACTIVE for i in ids) >= VMS // 2, what="VMs mid-boot")
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)

        daemon = start_daemon(tmp_path, database_url, port)
        one = connect(tmp_path, port)
        running = (VMState.ACTIVE, LCMState.RUNNING)
        wait_for(lambda: all((one.vm.info(i).STATE, one.vm.info(i).LCM_STATE) == running for i in ids), timeout=60,
                 what="every VM RUNNING after restart")
        vnet = one.vn.info(vnet_id)
        leases = vnet.AR_POOL.AR[0].LEASES.LEASE
        assert sorted(lease.VM for lease in leases) == sorted(ids)
        assert len({lease.IP for lease in leases}) == VMS
        assert one.host.info(host_id).HOST_SHARE.RUNNING_VMS == VMS
        # the dummy hypervisor agrees: each VM runs exactly once, under the name Nebula recorded
        assert all(one.vm.info(i).DEPLOY_ID == f"one-{i}" for i in ids)

        one.vm.action("terminate", ids[0])
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)
        daemon = start_daemon(tmp_path, database_url, port)
        one = connect(tmp_path, port)
        wait_for(lambda: one.vm.info(ids[0]).STATE == VMState.DONE, timeout=30, what="terminate finished after restart")
        assert len(one.vn.info(vnet_id).AR_POOL.AR[0].LEASES.LEASE) == VMS - 1
    finally:
        stop_daemon(daemon)
