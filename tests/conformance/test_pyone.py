"""pyone 7.3.80, the real OpenNebula client, on the methods the other tests leave out.

Each test drives a daemon of the ``cloud`` fixture through pyone exactly as a script written for
oned 7.4 would, and checks what ../shared/ONED-OBSERVED.md says a real oned answers: the reply,
the pyone exception class (picked from the error code), and the state left behind.
Life-cycle actions, templates and the basic pools are in test_lifecycle_e2e.py,
test_templates_groups.py and test_api_input.py; the permission matrix is test_permissions.py.
"""

from __future__ import annotations

import time
import xmlrpc.client
from collections.abc import Callable
from typing import Any

import pyone
import pytest
from helpers import wait_for

from nebula_core.daemon import Cloud
from nebula_core.states import HostState, LCMState, VMState

VM = "CPU = 0.5 MEMORY = 64"
LOCKED = 0x8000


def login(cloud: Cloud, name: str, secret: str = "pw") -> Any:
    """A pyone client with the session ``name:secret`` (a password or a login token)."""
    return pyone.OneServer(cloud.api.endpoint, session=f"{name}:{secret}")


def add_user(one: Any, name: str, *gids: int) -> int:
    return int(one.user.allocate(name, "pw", "core", list(gids)))


def add_host(one: Any, name: str = "node1") -> int:
    host_id = one.host.allocate(name, "dummy", "dummy", -1)
    wait_for(lambda: one.host.info(host_id).STATE == HostState.MONITORED, what=f"host {name} MONITORED")
    return int(host_id)


def wait_running(one: Any, vm_id: int) -> None:
    wait_for(lambda: (one.vm.info(vm_id).STATE, one.vm.info(vm_id).LCM_STATE) == (VMState.ACTIVE, LCMState.RUNNING),
             what=f"VM {vm_id} RUNNING")


def bits(obj: Any) -> tuple[int, ...]:
    """PERMISSIONS as nine 0/1 values in chmod's order."""
    p = obj.PERMISSIONS
    return (p.OWNER_U, p.OWNER_M, p.OWNER_A, p.GROUP_U, p.GROUP_M, p.GROUP_A, p.OTHER_U, p.OTHER_M, p.OTHER_A)


def vm_ids(server: Any, flag: int, start: int = -1, end: int = -1, state: int = -1) -> list[int]:
    return [vm.ID for vm in server.vmpool.info(flag, start, end, state).VM]


def leases(vnet: Any) -> list[tuple[str, int | None, int | None]]:
    """Every lease of a VNET as (IP, VM, VNET): VM -1 is an address on hold, VNET a reservation."""
    return [(lease.IP, lease.VM, lease.VNET) for ar in vnet.AR_POOL.AR for lease in (ar.LEASES.LEASE if ar.LEASES else [])]


def refused(call: Callable[[], Any]) -> bool:
    """True once ``call`` is refused with AUTHENTICATION (a session that stopped working)."""
    try:
        call()
    except pyone.OneAuthenticationException:
        return True
    return False


# ---------------------------------------------------------------------------------------------- VMs


def test_vm_chown_and_chmod(one: Any, cloud: Cloud) -> None:
    """Owner and bits as pyone reads them; the owner sets U/M bits but no *_A bit, and gives nothing away."""
    devs = one.group.allocate("devs")
    alice, bob = add_user(one, "alice", devs), add_user(one, "bob", devs)
    vm_id = one.vm.allocate(VM, True)
    assert bits(one.vm.info(vm_id)) == (1, 1, 0, 0, 0, 0, 0, 0, 0)  # umask 177

    assert one.vm.chown(vm_id, alice, devs) == vm_id
    vm = one.vm.info(vm_id)
    assert (vm.UID, vm.GID, vm.UNAME, vm.GNAME) == (alice, devs, "alice", "devs")
    one.vm.chmod(vm_id, 1, 1, 0, 1, 0, 0, 0, 0, 0)
    assert bits(one.vm.info(vm_id)) == (1, 1, 0, 1, 0, 0, 0, 0, 0)
    one.vm.chmod(vm_id, -1, -1, -1, -1, 1, -1, -1, -1, -1)  # -1 keeps a bit
    assert bits(one.vm.info(vm_id)) == (1, 1, 0, 1, 1, 0, 0, 0, 0)

    as_alice = login(cloud, "alice")
    as_alice.vm.chmod(vm_id, 1, 1, 0, 0, 0, 0, 1, 0, 0)
    assert bits(one.vm.info(vm_id)) == (1, 1, 0, 0, 0, 0, 1, 0, 0)
    with pytest.raises(pyone.OneAuthorizationException, match=rf"User \[{alice}\] : Not authorized to perform ADMIN VM \[{vm_id}\]"):
        as_alice.vm.chmod(vm_id, -1, -1, 1, -1, -1, -1, -1, -1, -1)
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform MANAGE USER \[{bob}\]"):
        as_alice.vm.chown(vm_id, bob, -1)
    with pytest.raises(pyone.OneAuthorizationException, match=r"Not authorized to perform USE GROUP \[1\]"):
        as_alice.vm.chown(vm_id, -1, 1)  # not one of her groups
    as_alice.vm.chown(vm_id, alice, devs)  # no change: accepted, as oned ignores it
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting user \[999\]"):
        one.vm.chown(vm_id, 999, -1)
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting group \[999\]"):
        one.vm.chown(vm_id, -1, 999)
    one.vm.chown(vm_id, -1, 1)  # the group only
    vm = one.vm.info(vm_id)
    assert (vm.UID, vm.GID, vm.GNAME) == (alice, 1, "users")
    assert bits(vm) == (1, 1, 0, 0, 0, 0, 1, 0, 0)


def test_vm_lock_levels(one: Any, cloud: Cloud) -> None:
    """A lock refuses its level and above, to oneadmin too, with code LOCKED, which pyone raises as a
    plain OneException (it has no subclass for 0x8000); reading always works."""
    vm_id = one.vm.allocate(VM, True)
    assert one.vm.lock(vm_id, 4) == vm_id  # "all" is stored as USE
    assert one.vm.info(vm_id).LOCK.LOCKED == 1 and one.vm.info(vm_id).LOCK.OWNER == 0
    with pytest.raises(pyone.OneException, match=rf"The resource virtual machine is locked. \[{vm_id}\]") as refusal:
        one.vm.action("release", vm_id)
    assert type(refusal.value) is pyone.OneException
    assert one.vm.unlock(vm_id) == vm_id
    assert one.vm.info(vm_id).LOCK is None
    one.vm.rename(vm_id, "free")

    one.vm.lock(vm_id, 2)  # MANAGE and ADMIN refused
    assert one.vm.info(vm_id).LOCK.LOCKED == 2 and one.vm.info(vm_id).NAME == "free"
    with pytest.raises(pyone.OneException, match="is locked") as refusal:
        one.vm.rename(vm_id, "managed")
    assert type(refusal.value) is pyone.OneException
    with pytest.raises(pyone.OneException, match="is locked"):
        one.vm.recover(vm_id, 3)
    one.vm.unlock(vm_id)

    one.vm.lock(vm_id, 3)  # ADMIN only
    one.vm.rename(vm_id, "managed")
    with pytest.raises(pyone.OneException, match="is locked"):
        one.vm.recover(vm_id, 3)
    assert one.vm.info(vm_id).STATE == VMState.HOLD
    with pytest.raises(pyone.OneActionException, match="Wrong lock level"):
        one.vm.lock(vm_id, 5)
    one.vm.unlock(vm_id)
    one.vm.recover(vm_id, 3)
    assert one.vm.info(vm_id).STATE == VMState.DONE

    alice = add_user(one, "alice")
    theirs = one.vm.allocate(VM, True)
    with pytest.raises(pyone.OneAuthorizationException, match=rf"User \[{alice}\] : Not authorized to perform MANAGE VM \[{theirs}\]"):
        login(cloud, "alice").vm.lock(theirs, 1)


def test_locked_code_on_the_wire(cloud: Cloud, admin_session: str) -> None:
    """The refusal array itself: [false, message, 0x8000, id, -1]."""
    raw: Any = xmlrpc.client.ServerProxy(cloud.api.endpoint)
    vm_id = raw.one.vm.allocate(admin_session, VM, True)[1]
    assert raw.one.vm.lock(admin_session, vm_id, 1) == [True, vm_id, 0]
    assert raw.one.vm.action(admin_session, "release", vm_id) == [
        False, f"[one.vm.action] The resource virtual machine is locked. [{vm_id}].", LOCKED, vm_id, -1]


def test_vm_resize_only_when_not_running(one: Any) -> None:
    """HOLD, PENDING and POWEROFF take a new size; RUNNING refuses it (ACTION) and keeps the old one."""
    vm_id = one.vm.allocate(VM, True)
    assert one.vm.resize(vm_id, "CPU = 1 VCPU = 2 MEMORY = 256", True) == vm_id
    template = one.vm.info(vm_id).TEMPLATE
    assert (template["CPU"], template["VCPU"], template["MEMORY"]) == ("1", "2", "256")
    one.vm.action("release", vm_id)
    assert one.vm.info(vm_id).STATE == VMState.PENDING  # no host yet: it stays PENDING
    one.vm.resize(vm_id, "MEMORY = 128", True)
    assert (one.vm.info(vm_id).TEMPLATE["CPU"], one.vm.info(vm_id).TEMPLATE["MEMORY"]) == ("1", "128")

    host_id = add_host(one)
    wait_running(one, vm_id)
    with pytest.raises(pyone.OneActionException, match='"resize": This action is not available for state ACTIVE'):
        one.vm.resize(vm_id, "CPU = 2 MEMORY = 512", True)
    assert one.vm.info(vm_id).TEMPLATE["MEMORY"] == "128"
    assert one.host.info(host_id).HOST_SHARE.CPU_USAGE == 100

    one.vm.action("poweroff", vm_id)
    wait_for(lambda: one.vm.info(vm_id).STATE == VMState.POWEROFF, what="VM POWEROFF")
    one.vm.resize(vm_id, "CPU = 2 MEMORY = 512", True)
    assert one.host.info(host_id).HOST_SHARE.CPU_USAGE == 200  # the host counts the new size
    with pytest.raises(pyone.OneActionException, match="does not have enough capacity"):
        one.vm.resize(vm_id, "CPU = 9", True)  # the dummy host has 8 CPUs
    one.vm.action("resume", vm_id)
    wait_running(one, vm_id)
    assert one.vm.info(vm_id).TEMPLATE["CPU"] == "2"


def test_vm_monitoring(one: Any) -> None:
    """MONITORING_DATA: empty before the VM runs, then the latest sample with the VM's ID."""
    held = one.vm.allocate(VM, True)
    assert one.vm.monitoring(held).MONITORING == []
    add_host(one)
    vm_id = one.vm.allocate(VM)
    wait_running(one, vm_id)
    records = wait_for(lambda: one.vm.monitoring(vm_id).MONITORING, what="a monitoring sample")
    assert len(records) == 1
    sample = records[0]
    assert sample.ID == vm_id and sample.TIMESTAMP > 0 and sample.CPU is not None and sample.MEMORY is not None
    assert one.vm.info(vm_id).MONITORING.TIMESTAMP > 0
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting virtual machine \[999\]"):
        one.vm.monitoring(999)


def test_vmpool_filters_and_pages(one: Any, cloud: Cloud) -> None:
    """-4 primary group, -3 mine, -2 all I may use, -1 mine and my groups', >= 0 that user's;
    pages with a negative end; the VM state filter; rows always narrowed to USE, newest first."""
    devs = one.group.allocate("devs")
    alice, bob, carol = add_user(one, "alice", devs), add_user(one, "bob", devs), add_user(one, "carol")
    as_alice, as_bob, as_carol = login(cloud, "alice"), login(cloud, "bob"), login(cloud, "carol")
    admins = one.vm.allocate(VM, True)
    shared, private, third = (as_alice.vm.allocate(VM, True) for _ in range(3))
    bobs, carols = as_bob.vm.allocate(VM, True), as_carol.vm.allocate(VM, True)
    as_alice.vm.chmod(shared, -1, -1, -1, 1, 0, 0, -1, -1, -1)  # her group may USE it

    assert vm_ids(as_bob, -4) == [bobs, shared]
    assert vm_ids(as_bob, -3) == [bobs]
    assert vm_ids(as_bob, -2) == [bobs, shared]
    assert vm_ids(as_bob, -1) == [bobs, shared]
    assert vm_ids(as_bob, alice) == [shared]
    assert vm_ids(as_bob, 0) == [] and vm_ids(as_bob, carol) == []
    assert vm_ids(as_carol, -2) == [carols]

    everything = [carols, bobs, third, private, shared, admins]
    assert vm_ids(one, -2) == everything
    assert vm_ids(one, -3) == vm_ids(one, -4) == vm_ids(one, -1) == [admins]  # oneadmin's own group is 0
    assert vm_ids(one, alice) == [third, private, shared] and vm_ids(one, bob) == [bobs]
    assert vm_ids(one, -2, -1, -2) == everything[:2]  # start -1 is offset 0
    assert vm_ids(one, -2, 4, -4) == everything[4:]
    assert vm_ids(as_alice, -3, third, -1) == [third]  # end -1: every id from start on
    assert vm_ids(as_alice, -3, 0, -2) == [third, private] and vm_ids(as_alice, -3, 2, -2) == [shared]
    assert vm_ids(one, -2, private, third) == [third, private]

    one.vm.recover(carols, 3)
    assert carols not in vm_ids(one, -2) and vm_ids(one, -2, -1, -1, -2)[0] == carols
    assert vm_ids(one, -2, -1, -1, VMState.DONE) == [carols]
    assert vm_ids(one, -2, -1, -1, VMState.HOLD) == everything[1:]
    with pytest.raises(pyone.OneApiException, match="Incorrect filter_flag"):
        one.vmpool.info(-5, -1, -1, -1)


# -------------------------------------------------------------------------------------------- hosts


def test_host_rename_update_status_monitoring(one: Any) -> None:
    host_id, other = add_host(one, "node1"), add_host(one, "node2")
    assert one.host.rename(host_id, "node-a") == host_id
    assert one.host.info(host_id).NAME == "node-a"
    with pytest.raises(pyone.OneActionException, match=f"NAME is already taken by HOST {other}"):
        one.host.rename(host_id, "node2")
    with pytest.raises(pyone.OneException, match="Invalid host name"):
        one.host.rename(host_id, "two words")
    assert one.host.info(host_id).NAME == "node-a"

    one.host.update(host_id, 'ZONE = "eu-1"\nRACK = "r7"', 1)
    template = one.host.info(host_id).TEMPLATE
    assert (template["ZONE"], template["RACK"], template["HYPERVISOR"]) == ("eu-1", "r7", "dummy")
    one.host.update(host_id, 'ZONE = "eu-2"', 0)  # replaces what the admin set; probe values stay
    template = one.host.info(host_id).TEMPLATE
    assert template["ZONE"] == "eu-2" and "RACK" not in template and template["HYPERVISOR"] == "dummy"

    assert one.host.status(host_id, 1) == host_id
    assert one.host.info(host_id).STATE == HostState.DISABLED
    assert one.host.status(other, 2) == other
    assert one.host.info(other).STATE == HostState.OFFLINE
    vm_id = one.vm.allocate(VM)  # no enabled host: it waits, and says why
    wait_for(lambda: "SCHED_MESSAGE" in one.vm.info(vm_id).USER_TEMPLATE, what="SCHED_MESSAGE")
    assert "No hosts enabled to run VMs" in one.vm.info(vm_id).USER_TEMPLATE["SCHED_MESSAGE"]
    assert one.vm.info(vm_id).STATE == VMState.PENDING
    one.host.status(host_id, 0)
    assert one.host.info(host_id).STATE in (HostState.INIT, HostState.MONITORED)
    wait_for(lambda: one.host.info(host_id).STATE == HostState.MONITORED, what="host enabled again")
    wait_running(one, vm_id)
    assert one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == host_id
    with pytest.raises(pyone.OneApiException, match="Wrong status code"):
        one.host.status(host_id, 3)
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting host \[999\]"):
        one.host.status(999, 1)

    # pyone reads host MONITORING with its VM binding: only ID and TIMESTAMP survive (so against oned too)
    sample = one.host.monitoring(host_id).MONITORING
    assert [m.ID for m in sample] == [host_id] and sample[0].TIMESTAMP > 0
    assert sorted(m.ID for m in one.hostpool.monitoring(-1).MONITORING) == [host_id, other]
    assert sorted(m.ID for m in one.hostpool.monitoring().MONITORING) == [host_id, other]


def test_host_monitoring_xml(cloud: Cloud, admin_session: str, one: Any) -> None:
    """What pyone drops, read raw: the CAPACITY of each probe."""
    host_id = add_host(one)
    raw: Any = xmlrpc.client.ServerProxy(cloud.api.endpoint)
    ok, body, code = raw.one.host.monitoring(admin_session, host_id)[:3]
    assert ok and code == 0 and body.startswith("<MONITORING_DATA><MONITORING>")
    assert f"<ID>{host_id}</ID><CAPACITY><FREE_CPU>" in body


# ---------------------------------------------------------------------------------- virtual networks


def test_vnet_update_rename_and_ranges(one: Any) -> None:
    vnet_id = one.vn.allocate('NAME = "lan" VN_MAD = "dummy" AR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "4" ]', -1)
    other = one.vn.allocate('NAME = "dmz" AR = [ TYPE = "IP4", IP = "10.9.0.1", SIZE = "2" ]', -1)
    assert one.vn.update(vnet_id, 'GATEWAY = "10.0.0.254"\nDNS = "10.0.0.53"', 1) == vnet_id
    template = one.vn.info(vnet_id).TEMPLATE
    assert (template["GATEWAY"], template["DNS"], template["VN_MAD"]) == ("10.0.0.254", "10.0.0.53", "dummy")
    one.vn.update(vnet_id, 'GATEWAY = "10.0.0.1"', 0)
    template = one.vn.info(vnet_id).TEMPLATE
    assert template["GATEWAY"] == "10.0.0.1" and "DNS" not in template
    assert one.vn.rename(vnet_id, "lan-1") == vnet_id and one.vn.info(vnet_id).NAME == "lan-1"
    with pytest.raises(pyone.OneActionException, match=f"NAME is already taken by NET {other}"):
        one.vn.rename(vnet_id, "dmz")

    assert one.vn.add_ar(vnet_id, 'AR = [ TYPE = "IP4", IP = "10.0.5.1", SIZE = "4" ]') == vnet_id
    ranges = one.vn.info(vnet_id).AR_POOL.AR
    assert [(ar.AR_ID, ar.IP, ar.IP_END, ar.SIZE) for ar in ranges] == [
        ("0", "10.0.0.1", "10.0.0.4", 4), ("1", "10.0.5.1", "10.0.5.4", 4)]
    assert ranges[1].MAC == "02:00:0a:00:05:01"
    one.vn.update_ar(vnet_id, 'AR = [ AR_ID = "1", SIZE = "6" ]')
    assert one.vn.info(vnet_id).AR_POOL.AR[1].IP_END == "10.0.5.6"
    with pytest.raises(pyone.OneActionException, match="cannot be changed"):
        one.vn.update_ar(vnet_id, 'AR = [ AR_ID = "1", IP = "10.0.6.1" ]')

    assert one.vn.hold(vnet_id, 'LEASES = [ IP = "10.0.5.2" ]') == vnet_id
    assert leases(one.vn.info(vnet_id)) == [("10.0.5.2", -1, None)]
    assert one.vn.info(vnet_id).USED_LEASES == 1
    with pytest.raises(pyone.OneActionException, match="already in use or on hold"):
        one.vn.hold(vnet_id, 'LEASES = [ IP = "10.0.5.2" ]')
    with pytest.raises(pyone.OneActionException, match="not in any address range"):
        one.vn.hold(vnet_id, 'LEASES = [ IP = "192.168.1.1" ]')
    with pytest.raises(pyone.OneInternalException, match="Cannot get IP/MAC lease"):
        one.vm.allocate(f'{VM} NIC = [ NETWORK_ID = {vnet_id}, IP = "10.0.5.2" ]')
    with pytest.raises(pyone.OneActionException, match="on hold"):
        one.vn.rm_ar(vnet_id, 1)
    assert one.vn.release(vnet_id, 'LEASES = [ IP = "10.0.5.2" ]') == vnet_id
    assert leases(one.vn.info(vnet_id)) == []
    with pytest.raises(pyone.OneActionException, match="not on hold"):
        one.vn.release(vnet_id, 'LEASES = [ IP = "10.0.5.2" ]')

    vm_id = one.vm.allocate(f'{VM} NIC = [ NETWORK_ID = {vnet_id}, IP = "10.0.5.3" ]', True)
    with pytest.raises(pyone.OneActionException, match="in use by VMs"):
        one.vn.rm_ar(vnet_id, 1, True)
    one.vm.recover(vm_id, 3)
    one.vn.hold(vnet_id, 'LEASES = [ IP = "10.0.5.4" ]')
    assert one.vn.rm_ar(vnet_id, 1, True) == vnet_id  # forced: the held address goes with it
    assert [ar.AR_ID for ar in one.vn.info(vnet_id).AR_POOL.AR] == ["0"] and leases(one.vn.info(vnet_id)) == []
    with pytest.raises(pyone.OneActionException, match="Address range 1 does not exist"):
        one.vn.rm_ar(vnet_id, 1)


def test_vnet_chown_and_chmod(one: Any, cloud: Cloud) -> None:
    devs = one.group.allocate("devs")
    alice, _bob = add_user(one, "alice", devs), add_user(one, "bob", devs)
    vnet_id = one.vn.allocate('NAME = "lan" AR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "4" ]', -1)
    one.vn.chown(vnet_id, alice, devs)
    vnet = one.vn.info(vnet_id)
    assert (vnet.UID, vnet.GID, vnet.UNAME, vnet.GNAME, bits(vnet)) == (alice, devs, "alice", "devs", (1, 1, 0, 0, 0, 0, 0, 0, 0))
    as_bob = login(cloud, "bob")
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE NET \[{vnet_id}\]"):
        as_bob.vm.allocate(f"{VM} NIC = [ NETWORK_ID = {vnet_id} ]", True)
    login(cloud, "alice").vn.chmod(vnet_id, -1, -1, -1, 1, -1, -1, -1, -1, -1)
    assert bits(one.vn.info(vnet_id)) == (1, 1, 0, 1, 0, 0, 0, 0, 0)
    vm_id = as_bob.vm.allocate(f"{VM} NIC = [ NETWORK_ID = {vnet_id} ]", True)
    assert one.vm.info(vm_id).TEMPLATE["NIC"]["IP"] == "10.0.0.1"
    assert [n.ID for n in as_bob.vnpool.info(-2, -1, -1).VNET] == [vnet_id]
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform MANAGE NET \[{vnet_id}\]"):
        as_bob.vn.update(vnet_id, 'X = "1"', 1)


def test_reservation(one: Any, cloud: Cloud) -> None:
    """SIZE=2 out of a network: held in the parent by the reservation, leased from the reservation,
    given back when it is deleted; the parent cannot go while a reservation holds its addresses."""
    alice = add_user(one, "alice")
    parent = one.vn.allocate('NAME = "lan" GATEWAY = "10.0.0.254" AR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "8" ]', -1)
    as_alice = login(cloud, "alice")
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE NET \[{parent}\]"):
        as_alice.vn.reserve(parent, 'SIZE = 2 NAME = "mine"')
    one.vn.chmod(parent, -1, -1, -1, -1, -1, -1, 1, 0, 0)  # everyone may USE it

    mine = as_alice.vn.reserve(parent, 'SIZE = 2 NAME = "mine"')
    reservation = one.vn.info(mine)
    assert (reservation.NAME, reservation.UID, reservation.PARENT_NETWORK_ID) == ("mine", alice, str(parent))
    assert [(ar.IP, ar.SIZE) for ar in reservation.AR_POOL.AR] == [("10.0.0.1", 2)]
    assert reservation.TEMPLATE["GATEWAY"] == "10.0.0.254"  # the parent's attributes come along
    assert leases(one.vn.info(parent)) == [("10.0.0.1", None, mine), ("10.0.0.2", None, mine)]
    assert one.vn.info(parent).USED_LEASES == 2
    assert [n.ID for n in as_alice.vnpool.info(-3, -1, -1).VNET] == [mine]
    with pytest.raises(pyone.OneActionException, match=f"Reservation {mine} still holds addresses"):
        one.vn.delete(parent)

    on_reservation = as_alice.vm.allocate(f"{VM} NIC = [ NETWORK_ID = {mine} ]", True)
    nic = one.vm.info(on_reservation).TEMPLATE["NIC"]
    assert (nic["IP"], nic["NETWORK"], nic["NETWORK_ID"]) == ("10.0.0.1", "mine", str(mine))
    on_parent = one.vm.allocate(f"{VM} NIC = [ NETWORK_ID = {parent} ]", True)
    assert one.vm.info(on_parent).TEMPLATE["NIC"]["IP"] == "10.0.0.3"  # the reserved ones are skipped
    with pytest.raises(pyone.OneInternalException, match="Cannot get IP/MAC lease"):
        one.vm.allocate(f'{VM} NIC = [ NETWORK_ID = {parent}, IP = "10.0.0.2" ]')

    with pytest.raises(pyone.OneActionException, match="in use by VMs"):
        as_alice.vn.delete(mine)
    as_alice.vm.action("terminate", on_reservation)  # HOLD -> DONE at once, the lease goes back
    assert as_alice.vn.delete(mine) == mine
    with pytest.raises(pyone.OneNoExistsException):
        one.vn.info(mine)
    assert leases(one.vn.info(parent)) == [("10.0.0.3", on_parent, None)]
    with pytest.raises(pyone.OneActionException, match="Not enough free addresses"):
        as_alice.vn.reserve(parent, 'SIZE = 8 NAME = "too-big"')
    one.vm.recover(on_parent, 3)
    assert one.vn.delete(parent) == parent


# ---------------------------------------------------------------------------------------- templates


def test_template_chown_chmod_lock(one: Any, cloud: Cloud) -> None:
    devs = one.group.allocate("devs")
    alice, _bob = add_user(one, "alice", devs), add_user(one, "bob", devs)
    template_id = one.template.allocate('NAME = "web" CPU = 0.5 MEMORY = 64')
    one.template.chown(template_id, alice, devs)
    template = one.template.info(template_id)
    assert (template.UID, template.GID, template.UNAME, template.GNAME) == (alice, devs, "alice", "devs")
    as_bob = login(cloud, "bob")
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE TEMPLATE \[{template_id}\]"):
        as_bob.template.instantiate(template_id, "", True, "", False)
    one.template.chmod(template_id, 1, 1, 0, 1, 0, 0, 0, 0, 0)
    assert bits(one.template.info(template_id)) == (1, 1, 0, 1, 0, 0, 0, 0, 0)
    vm_id = as_bob.template.instantiate(template_id, "", True, "", False)
    assert one.vm.info(vm_id).UID != alice  # the VM is bob's, not the template owner's
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform MANAGE TEMPLATE \[{template_id}\]"):
        as_bob.template.update(template_id, 'VCPU = 2', 1)

    assert one.template.lock(template_id, 1) == template_id
    assert one.template.info(template_id).LOCK.LOCKED == 1  # reading a locked template works
    for instantiate in (one.template.instantiate, as_bob.template.instantiate):
        with pytest.raises(pyone.OneException, match=rf"The resource virtual machine template is locked. \[{template_id}\]") as refusal:
            instantiate(template_id, "", True, "", False)
        assert type(refusal.value) is pyone.OneException
    one.template.unlock(template_id)
    one.template.lock(template_id, 2)  # USE still allowed, MANAGE not
    as_bob.template.instantiate(template_id, "", True, "", False)
    with pytest.raises(pyone.OneException, match="is locked"):
        login(cloud, "alice").template.update(template_id, 'VCPU = 2', 1)
    with pytest.raises(pyone.OneException, match="is locked"):
        one.template.delete(template_id)
    one.template.unlock(template_id)
    assert one.template.info(template_id).LOCK is None
    one.template.delete(template_id)


# -------------------------------------------------------------------------------------------- users


def test_user_groups_and_chgrp(one: Any, cloud: Cloud) -> None:
    """Groups at allocate, addgroup/delgroup, and chgrp re-evaluated at the very next call."""
    devs, ops = one.group.allocate("devs"), one.group.allocate("ops")
    carol = add_user(one, "carol", devs, ops)
    assert carol == 2  # 0 is oneadmin, 1 is kept free (oned's serveradmin)
    user = one.user.info(carol)
    assert (user.GID, user.GNAME, user.GROUPS.ID, user.AUTH_DRIVER, user.ENABLED) == (devs, "devs", [devs, ops], "core", 1)
    assert carol in one.group.info(devs).USERS.ID and carol in one.group.info(ops).USERS.ID
    assert one.user.info(add_user(one, "dave")).GNAME == "users"

    assert one.user.addgroup(carol, 1) == carol
    assert one.user.info(carol).GROUPS.ID == [1, devs, ops]
    assert one.user.delgroup(carol, ops) == carol
    assert one.user.info(carol).GROUPS.ID == [1, devs] and carol not in (one.group.info(ops).USERS.ID or [])
    with pytest.raises(pyone.OneActionException, match="primary group"):
        one.user.delgroup(carol, devs)
    with pytest.raises(pyone.OneActionException, match=rf"is not in group \[{ops}\]"):
        one.user.delgroup(carol, ops)

    bob = add_user(one, "bob", devs)
    shared = login(cloud, "bob").vm.allocate(VM, True)
    login(cloud, "bob").vm.chmod(shared, -1, -1, -1, 1, -1, -1, -1, -1, -1)
    as_carol = login(cloud, "carol")
    one.user.delgroup(carol, 1)
    assert as_carol.vm.info(shared).UID == bob and vm_ids(as_carol, -2) == [shared]
    assert one.user.chgrp(carol, ops) == carol
    user = one.user.info(carol)
    assert (user.GID, user.GNAME, user.GROUPS.ID) == (ops, "ops", [ops])
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE VM \[{shared}\]"):
        as_carol.vm.info(shared)
    assert vm_ids(as_carol, -2) == []
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE GROUP \[{devs}\]"):
        as_carol.user.chgrp(carol, devs)  # not hers any more
    one.user.chgrp(carol, devs)
    assert as_carol.vm.info(shared).ID == shared
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting group \[999\]"):
        one.user.chgrp(carol, 999)


def test_user_update_enable_chauth_passwd(one: Any, cloud: Cloud) -> None:
    alice = add_user(one, "alice")
    as_alice = login(cloud, "alice")
    assert as_alice.user.update(alice, 'SSH_PUBLIC_KEY = "ssh-ed25519 AAAA"', 1) == alice
    one.user.update(alice, 'DEPARTMENT = "r&d"', 1)
    template = one.user.info(alice).TEMPLATE
    assert (template["SSH_PUBLIC_KEY"], template["DEPARTMENT"]) == ("ssh-ed25519 AAAA", "r&d")
    one.user.update(alice, 'DEPARTMENT = "ops"', 0)
    assert dict(one.user.info(alice).TEMPLATE) == {"DEPARTMENT": "ops"}

    assert one.user.enable(alice, False) == alice
    assert one.user.info(alice).ENABLED == 0
    with pytest.raises(pyone.OneAuthenticationException, match="User couldn't be authenticated"):
        as_alice.user.info(-1)
    one.user.enable(alice, True)
    assert as_alice.user.info(-1).ID == alice

    with pytest.raises(pyone.OneActionException, match="unknown auth driver 'nosuch'"):
        one.user.chauth(alice, "nosuch", "")
    assert one.user.info(alice).AUTH_DRIVER == "core" and as_alice.user.info(-1).ID == alice
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform ADMIN USER \[{alice}\]"):
        as_alice.user.chauth(alice, "core", "x")

    assert as_alice.user.passwd(alice, "n3w") == alice  # her own password
    with pytest.raises(pyone.OneAuthenticationException):
        as_alice.user.info(-1)  # the old session, at once
    assert login(cloud, "alice", "n3w").user.info(-1).NAME == "alice"
    with pytest.raises(pyone.OneAuthorizationException, match=r"Not authorized to perform MANAGE USER \[0\]"):
        login(cloud, "alice", "n3w").user.passwd(0, "mine")


def test_login_tokens(one: Any, cloud: Cloud) -> None:
    devs, ops = one.group.allocate("devs"), one.group.allocate("ops")
    alice, bob = add_user(one, "alice", devs, ops), add_user(one, "bob", devs)
    as_alice = login(cloud, "alice")
    token = as_alice.user.login("alice", "", 60, -1)
    assert len(token) == 64 and all(c in "0123456789abcdef" for c in token)
    with_token = login(cloud, "alice", token)
    assert with_token.user.info(-1).ID == alice
    [listed] = one.user.info(alice).LOGIN_TOKEN
    assert listed.EGID == -1 and abs(listed.EXPIRATION_TIME - (time.time() + 60)) < 5
    assert as_alice.user.login("alice", token, 0, -1) == token  # revoked: refused at once
    with pytest.raises(pyone.OneAuthenticationException):
        with_token.user.info(-1)
    with pytest.raises(pyone.OneAuthenticationException):
        login(cloud, "alice", "not-a-token").user.info(-1)

    assert as_alice.user.login("alice", "chosen-token", -1, -1) == "chosen-token"  # used as given
    assert login(cloud, "alice", "chosen-token").vmpool.info(-2, -1, -1, -1).VM == []
    short = as_alice.user.login("alice", "", 2, -1)
    short_lived = login(cloud, "alice", short)
    assert short_lived.user.info(-1).ID == alice
    wait_for(lambda: refused(lambda: short_lived.user.info(-1)), timeout=5, what="the 2 s token to expire")

    shared = login(cloud, "bob").vm.allocate(VM, True)
    login(cloud, "bob").vm.chmod(shared, -1, -1, -1, 1, -1, -1, -1, -1, -1)  # devs may USE it
    in_ops = login(cloud, "alice", as_alice.user.login("alice", "", 60, ops))
    assert as_alice.vm.info(shared).ID == shared
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE VM \[{shared}\]"):
        in_ops.vm.info(shared)  # the token acts in ops only
    assert vm_ids(in_ops, -2) == []
    made = in_ops.vm.allocate(VM, True)
    assert one.vm.info(made).GID == ops and one.vm.info(made).UID == alice

    with pytest.raises(pyone.OneApiException, match="EGID is not in user group list"):
        as_alice.user.login("alice", "", 60, 1)
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform MANAGE USER \[{bob}\]"):
        as_alice.user.login("bob", "", 60, -1)
    with pytest.raises(pyone.OneApiException, match="Cannot create a full token"):
        one.user.login("bob", "", 60, -1)  # an admin gets another user's token only for one group
    for_bob = one.user.login("bob", "", 60, devs)
    assert login(cloud, "bob", for_bob).vm.info(shared).UID == bob
    with pytest.raises(pyone.OneNoExistsException, match="Error getting user Pool"):
        one.user.login("nobody", "", 60, -1)


# ------------------------------------------------------------------------------------------- groups


def test_group_update_info_and_system_groups(one: Any, cloud: Cloud) -> None:
    devs = one.group.allocate("devs")
    assert devs == 100
    alice = add_user(one, "alice", devs)
    assert one.group.update(devs, 'DESCRIPTION = "developers"\nTEAM = "a"', 1) == devs
    assert dict(one.group.info(devs).TEMPLATE) == {"DESCRIPTION": "developers", "TEAM": "a"}
    one.group.update(devs, 'TEAM = "b"', 0)
    assert dict(one.group.info(devs).TEMPLATE) == {"TEAM": "b"}
    group = one.group.info(devs)
    assert (group.ID, group.NAME, group.USERS.ID) == (devs, "devs", [alice])

    as_alice = login(cloud, "alice")
    assert as_alice.group.info(-1).ID == devs  # her primary group
    with pytest.raises(pyone.OneAuthorizationException, match=rf"User \[{alice}\] : Not authorized to perform USE GROUP \[0\]"):
        as_alice.group.info(0)
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform MANAGE GROUP \[{devs}\]"):
        as_alice.group.update(devs, 'TEAM = "c"', 1)
    with pytest.raises(pyone.OneAuthorizationException):
        as_alice.group.delete(devs)
    for system in (0, 1):
        with pytest.raises(pyone.OneActionException, match=r"System Groups \(ID < 100\) cannot be deleted"):
            one.group.delete(system)
    assert [g.ID for g in one.grouppool.info().GROUP] == [devs, 1, 0]
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting group \[999\]"):
        one.group.delete(999)


def test_deploy_brings_back_an_undeployed_or_stopped_vm(one: Any) -> None:
    """one.vm.deploy also takes UNDEPLOYED and STOPPED VMs (7.4), which come back from the front-end."""
    first, second = add_host(one, "node1"), add_host(one, "node2")
    vm_id = one.vm.allocate(VM + ' SCHED_REQUIREMENTS = "NAME = \\"node1\\""')
    wait_running(one, vm_id)
    for action, state in (("undeploy", VMState.UNDEPLOYED), ("stop", VMState.STOPPED)):
        one.vm.action(action, vm_id)
        wait_for(lambda: one.vm.info(vm_id).STATE == state, what=f"VM {state.name}")
        one.vm.deploy(vm_id, second)
        wait_running(one, vm_id)
        assert one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == second
        one.vm.migrate(vm_id, first, True)
        wait_for(lambda: one.vm.info(vm_id).HISTORY_RECORDS.HISTORY[-1].HID == first, what="back on node1")
        wait_running(one, vm_id)
