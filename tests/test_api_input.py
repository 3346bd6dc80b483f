"""Bad input at the API: each gets a clear error with OpenNebula's code, and nothing is half-written."""

from __future__ import annotations

import http.client
import socket
import threading
import xmlrpc.client
from typing import Any

import pyone
import pytest
from helpers import wait_for

from nebula_core.daemon import Cloud


@pytest.fixture
def rpc(cloud: Cloud) -> xmlrpc.client.ServerProxy:
    return xmlrpc.client.ServerProxy(cloud.api.endpoint)


def test_reply_shapes(rpc: Any, admin_session: str) -> None:
    assert rpc.one.system.version(admin_session) == [True, "7.4.0", 0]
    assert rpc.one.system.version(admin_session, "extra", 5) == [True, "7.4.0", 0]  # trailing args ignored
    failure = rpc.one.vm.info(admin_session, 9999)
    assert failure == [False, "[one.vm.info] Error getting virtual machine [9999].", 1024, 9999, -1]
    assert rpc.one.vm.info("oneadmin:wrong", 0)[:3] == [False, "[one.vm.info] User couldn't be authenticated, aborting call.", 256]
    assert rpc.one.vm.info("garbage", 0)[2] == 256


@pytest.mark.parametrize("call, fault", [
    (lambda r, s: r.one.vm.info(s), -501),  # missing argument
    (lambda r, s: r.one.vm.info(s, "7"), -501),  # string for an integer
    (lambda r, s: r.one.vm.allocate(s, 5), -501),  # integer for a string
    (lambda r, s: r.one.vm.allocate(s, "CPU=1 MEMORY=1", 1), -501),  # integer for a boolean
    (lambda r, s: r.one.nosuch.method(s), -506),
    (lambda r, s: r.one.system.version(), -500),
])
def test_wrong_arguments_are_faults(rpc: Any, admin_session: str, call: Any, fault: int) -> None:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(rpc, admin_session)
    assert info.value.faultCode == fault


@pytest.mark.parametrize("template, code, text", [
    ('CPU = 1 MEMORY = "128', 0x2000, "Parse error"),
    ("CPU = 1 MEMORY = [ A = 1", 0x2000, "Parse error"),
    ("CPU = 1", 0x2000, "MEMORY attribute must be a positive integer value."),
    ("CPU = 1 MEMORY = -5", 0x2000, "MEMORY attribute must be a positive integer value."),
    ("CPU = 1 MEMORY = 99999999999999", 0x2000, "MEMORY attribute must be a positive integer value."),
    ("CPU = -1 MEMORY = 5", 0x2000, "CPU attribute must be a positive float or integer value."),
    ("CPU = nan MEMORY = 5", 0x2000, "CPU attribute must be a positive float or integer value."),
    ('CPU = 1 MEMORY = 5 SCHED_REQUIREMENTS = "FREE_CPU >= 5"', 0x2000, "SCHED_REQUIREMENTS"),
    ('CPU = 1 MEMORY = 5 NIC = [ NETWORK = "nosuch" ]', 0x400, "virtual network"),
    ("", 0x2000, "MEMORY"),
])
def test_bad_vm_templates(rpc: Any, admin_session: str, template: str, code: int, text: str) -> None:
    reply = rpc.one.vm.allocate(admin_session, template)
    assert reply[0] is False and reply[2] == code, reply
    assert text in reply[1]
    assert rpc.one.vmpool.info(admin_session, -2, -1, -1, -2) == [True, "<VM_POOL></VM_POOL>", 0]  # nothing written


def test_failed_lease_writes_nothing(one: Any) -> None:
    vnet = one.vn.allocate('NAME = "tiny" AR = [ TYPE = IP4, IP = "10.9.0.1", SIZE = 1 ]', -1)
    one.vm.allocate(f"CPU = 1 MEMORY = 8 NIC = [ NETWORK_ID = {vnet} ]")
    with pytest.raises(pyone.OneInternalException, match="Cannot get IP/MAC lease"):
        one.vm.allocate(f"CPU = 1 MEMORY = 8 NIC = [ NETWORK_ID = {vnet} ] NIC = [ NETWORK_ID = {vnet} ]")
    with pytest.raises(pyone.OneInternalException, match="Cannot get IP/MAC lease"):
        one.vm.allocate(f'CPU = 1 MEMORY = 8 NIC = [ NETWORK_ID = {vnet}, IP = "10.9.0.1" ]')
    assert len(one.vmpool.info(-2, -1, -1, -1).VM) == 1
    assert len(one.vn.info(vnet).AR_POOL.AR[0].LEASES.LEASE) == 1


def test_hosts_bad_input(one: Any) -> None:
    with pytest.raises(pyone.OneException, match="unknown vmm driver 'nosuch'.*installed: dummy"):
        one.host.allocate("h1", "dummy", "nosuch", -1)
    with pytest.raises(pyone.OneException, match="Invalid host name"):
        one.host.allocate("bad name; rm -rf /", "dummy", "dummy", -1)
    host = one.host.allocate("h1", "dummy", "dummy", -1)
    with pytest.raises(pyone.OneException, match="NAME is already taken by HOST"):
        one.host.allocate("h1", "dummy", "dummy", -1)
    with pytest.raises(pyone.OneApiException, match="Wrong status code"):
        one.host.status(host, 7)
    with pytest.raises(pyone.OneNoExistsException):
        one.host.info(12345)
    assert len(one.hostpool.info().HOST) == 1


def test_vnets_bad_input(one: Any) -> None:
    for template, text in [
        ('NAME = "a" AR = [ TYPE = IP4, IP = "300.1.1.1", SIZE = 2 ]', "not an IPv4 address"),
        ('NAME = "a" AR = [ TYPE = IP4, IP = "10.0.0.1", SIZE = -2 ]', "AR SIZE"),
        ('NAME = "a" AR = [ TYPE = IP4, IP = "10.0.0.1", SIZE = 999999999 ]', "AR SIZE"),
        ('NAME = "a" TYPE = FIXED', "FIXED network needs"),
        ('AR = [ TYPE = IP4, IP = "10.0.0.1", SIZE = 2 ]', "NAME is required"),
    ]:
        with pytest.raises(pyone.OneException, match=text):
            one.vn.allocate(template, -1)
    assert one.vnpool.info(-2, -1, -1).VNET == []


def test_pool_arguments(rpc: Any, admin_session: str) -> None:
    assert rpc.one.vmpool.info(admin_session, -5, -1, -1, -1)[:3] == [False, "[one.vmpool.info] Incorrect filter_flag", 4096]
    assert rpc.one.vmpool.info(admin_session, -2, -1, -1, 99)[1] == "[one.vmpool.info] Incorrect state filter 99"


def raw_post(cloud: Cloud, path: str, body: bytes, method: str = "POST") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", cloud.api.port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": "text/xml"})
    response = conn.getresponse()
    return response.status, response.read()


def test_http_level(cloud: Cloud) -> None:
    assert raw_post(cloud, "/RPC2", b"", "GET")[0] == 405
    assert raw_post(cloud, "/", b"<x/>")[0] == 404
    status, body = raw_post(cloud, "/RPC2", b"this is not xml")
    assert status == 200 and b"-503" in body
    with socket.create_connection(("127.0.0.1", cloud.api.port), timeout=10) as sock:
        sock.sendall(b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (cloud.config.api.max_request_bytes + 1))
        assert sock.recv(100).startswith(b"HTTP/1.1 413")


def test_daemon_keeps_serving_during_hostile_calls(cloud: Cloud, admin_session: str) -> None:
    """Oversize bodies and garbage from several clients while another client is served normally."""
    def hostile() -> None:
        for _ in range(20):
            raw_post(cloud, "/RPC2", b"<methodCall><methodName>one.vm.info</methodName><params>" * 50)

    threads = [threading.Thread(target=hostile) for _ in range(4)]
    for t in threads:
        t.start()
    rpc = xmlrpc.client.ServerProxy(cloud.api.endpoint)
    answers = [rpc.one.system.version(admin_session)[0] for _ in range(20)]
    for t in threads:
        t.join()
    assert all(answers)


def test_concurrent_submits_never_share_a_lease(cloud: Cloud, admin_session: str) -> None:
    rpc = xmlrpc.client.ServerProxy(cloud.api.endpoint)
    vnet = rpc.one.vn.allocate(admin_session, 'NAME = "lan" AR = [ TYPE = IP4, IP = "10.1.0.1", SIZE = 40 ]', -1)[1]
    results: list[Any] = []

    def submit() -> None:
        proxy = xmlrpc.client.ServerProxy(cloud.api.endpoint)
        for _ in range(6):
            results.append(proxy.one.vm.allocate(admin_session, f"CPU = 0.1 MEMORY = 8 NIC = [ NETWORK_ID = {vnet} ]"))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r[1] for r in results if r[0]]
    refused = [r[1] for r in results if not r[0]]
    assert len(ok) == 40 and all("Cannot get IP/MAC lease" in message for message in refused), refused
    one = pyone.OneServer(cloud.api.endpoint, session=admin_session)
    leases = one.vn.info(vnet).AR_POOL.AR[0].LEASES.LEASE
    assert len({lease.IP for lease in leases}) == 40
    assert sorted(lease.VM for lease in leases) == sorted(ok)


def test_regular_user_sees_only_own(one: Any, cloud: Cloud) -> None:
    uid = one.user.allocate("alice", "secret", "core", [])
    mine = one.vm.allocate("CPU = 1 MEMORY = 8")
    alice = pyone.OneServer(cloud.api.endpoint, session="alice:secret")
    hers = alice.vm.allocate("CPU = 1 MEMORY = 8")
    assert [vm.ID for vm in alice.vmpool.info(-2, -1, -1, -1).VM] == [hers]
    assert one.vm.info(hers).UID == uid
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE VM \[{mine}\]"):
        alice.vm.info(mine)
    with pytest.raises(pyone.OneAuthorizationException):
        alice.host.allocate("h", "dummy", "dummy", -1)
    one.user.passwd(uid, "changed")
    with pytest.raises(pyone.OneAuthenticationException):
        alice.vm.info(hers)
    wait_for(lambda: pyone.OneServer(cloud.api.endpoint, session="alice:changed").vm.info(hers).ID == hers)


def test_pool_pages_and_ranges(one: Any) -> None:
    ids = [one.vm.allocate("CPU = 1 MEMORY = 8", True) for _ in range(5)]
    assert [vm.ID for vm in one.vmpool.infoextended(-2, -1, -1, -1).VM] == ids[::-1]  # descending, as oned
    assert [vm.ID for vm in one.vmpool.info(-2, 0, -2, -1).VM] == ids[:-3:-1]  # first page of two
    assert [vm.ID for vm in one.vmpool.info(-2, 2, -2, -1).VM] == [ids[2], ids[1]]  # second page
    assert [vm.ID for vm in one.vmpool.info(-2, ids[1], ids[3], -1).VM] == [ids[3], ids[2], ids[1]]
    assert all(len(vm.HISTORY_RECORDS.HISTORY) == 0 for vm in one.vmpool.infoextended(-2, 0, -2, -1).VM)


def test_renames_check_the_name(one: Any) -> None:
    vm_id = one.vm.allocate("CPU = 1 MEMORY = 8", True)
    one.vm.rename(vm_id, "renamed")
    assert one.vm.info(vm_id).NAME == "renamed"
    template_id = one.template.allocate('NAME = "t" CPU = 1 MEMORY = 8')
    for rename, object_id in ((one.vm.rename, vm_id), (one.template.rename, template_id)):
        with pytest.raises(pyone.OneActionException, match="Invalid name"):
            rename(object_id, "two\nlines")
        with pytest.raises(pyone.OneActionException, match="Invalid name"):
            rename(object_id, "x" * 200)
    assert one.vm.info(vm_id).NAME == "renamed" and one.template.info(template_id).NAME == "t"
