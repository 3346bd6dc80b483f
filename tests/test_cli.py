"""Unit tests of the client (nebula_core.client) and the CLI (nebula_core.cli.main).

A stand-in server answers a few methods with canned OpenNebula 7.4 replies (bodies after
OPENNEBULA.md 3.1-3.4 and ONED-OBSERVED.md), records what it was sent, and the CLI's
``main(argv)`` runs against it. The real daemon is tested elsewhere.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import xmlrpc.client
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any
from xmlrpc.server import SimpleXMLRPCServer

import pytest

from nebula_core.cli import main as cli
from nebula_core.client import (
    AddressRange,
    Client,
    ClientError,
    Kind,
    LockLevel,
    LoginToken,
    OneError,
    PoolFilter,
    Recover,
)

SESSION = "oneadmin:opennebula"

RUNNING_VM = (  # OPENNEBULA.md 3.1, with a full HISTORY record
    "<VM><ID>7</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>web</NAME>"
    "<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U>"
    "<GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A><OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A>"
    "</PERMISSIONS><LAST_POLL>0</LAST_POLL><STATE>3</STATE><LCM_STATE>3</LCM_STATE><PREV_STATE>3</PREV_STATE>"
    "<PREV_LCM_STATE>3</PREV_LCM_STATE><RESCHED>0</RESCHED><STIME>1700000000</STIME><ETIME>0</ETIME>"
    "<DEPLOY_ID>one-7</DEPLOY_ID><MONITORING/><SCHED_ACTIONS/>"
    "<TEMPLATE><CPU><![CDATA[1]]></CPU><MEMORY><![CDATA[512]]></MEMORY>"
    "<NIC><IP><![CDATA[10.0.0.5]]></IP><NIC_ID><![CDATA[0]]></NIC_ID></NIC>"
    "<NIC><IP><![CDATA[10.0.1.9]]></IP><NIC_ID><![CDATA[1]]></NIC_ID></NIC>"
    "<VMID><![CDATA[7]]></VMID></TEMPLATE>"
    "<USER_TEMPLATE><DESCRIPTION><![CDATA[front end]]></DESCRIPTION></USER_TEMPLATE>"
    "<HISTORY_RECORDS><HISTORY><OID>7</OID><SEQ>0</SEQ><HOSTNAME>node1</HOSTNAME><HID>0</HID><CID>0</CID>"
    "<STIME>1700000005</STIME><ETIME>1700000100</ETIME><VM_MAD><![CDATA[dummy]]></VM_MAD>"
    "<TM_MAD><![CDATA[dummy]]></TM_MAD><DS_ID>0</DS_ID><PLAN_ID>-1</PLAN_ID><ACTION_ID>-1</ACTION_ID>"
    "<PSTIME>0</PSTIME><PETIME>0</PETIME><RSTIME>0</RSTIME><RETIME>0</RETIME><ESTIME>0</ESTIME><EETIME>0</EETIME>"
    "<ACTION>1</ACTION><UID>-1</UID><GID>-1</GID><REQUEST_ID>-1</REQUEST_ID></HISTORY>"
    "<HISTORY><OID>7</OID><SEQ>1</SEQ><HOSTNAME>node2</HOSTNAME><HID>1</HID><CID>0</CID>"
    "<STIME>1700000100</STIME><ETIME>0</ETIME><VM_MAD><![CDATA[dummy]]></VM_MAD>"
    "<TM_MAD><![CDATA[dummy]]></TM_MAD><DS_ID>0</DS_ID><ACTION>0</ACTION></HISTORY></HISTORY_RECORDS>"
    "<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS/></BACKUPS></VM>"
)
PENDING_VM = (  # pool form, never placed; the scheduler said why (OPENNEBULA.md 7.3)
    "<VM><ID>8</ID><UID>2</UID><GID>1</GID><UNAME>alice</UNAME><GNAME>users</GNAME><NAME>big</NAME>"
    "<LAST_POLL>0</LAST_POLL><STATE>1</STATE><LCM_STATE>0</LCM_STATE><RESCHED>0</RESCHED>"
    "<STIME>1700000000</STIME><ETIME>0</ETIME><DEPLOY_ID></DEPLOY_ID>"
    "<TEMPLATE><CPU><![CDATA[0.5]]></CPU><MEMORY><![CDATA[2048]]></MEMORY></TEMPLATE><MONITORING/>"
    "<USER_TEMPLATE><SCHED_MESSAGE><![CDATA[Tue Nov 25 06:00:00 2026: Not enough CPU on hosts: 0,1; "
    "Requirements not met on hosts: 2]]></SCHED_MESSAGE></USER_TEMPLATE><HISTORY_RECORDS/></VM>"
)
VM_POOL = f"<VM_POOL>{PENDING_VM}{RUNNING_VM}</VM_POOL>"  # ID descending, as oned 7.4 lists
HOST = (  # OPENNEBULA.md 3.2, dummy capacity from ONED-OBSERVED.md 6
    "<HOST><ID>0</ID><NAME>node1</NAME><STATE>2</STATE><PREV_STATE>2</PREV_STATE>"
    "<IM_MAD><![CDATA[dummy]]></IM_MAD><VM_MAD><![CDATA[dummy]]></VM_MAD><CLUSTER_ID>0</CLUSTER_ID>"
    "<CLUSTER>default</CLUSTER><HOST_SHARE><MEM_USAGE>524288</MEM_USAGE><CPU_USAGE>100</CPU_USAGE>"
    "<TOTAL_MEM>16777216</TOTAL_MEM><TOTAL_CPU>800</TOTAL_CPU><MAX_MEM>16777216</MAX_MEM><MAX_CPU>800</MAX_CPU>"
    "<RUNNING_VMS>1</RUNNING_VMS><VMS_THREAD>0</VMS_THREAD></HOST_SHARE><VMS><ID>7</ID></VMS>"
    "<TEMPLATE><HYPERVISOR><![CDATA[dummy]]></HYPERVISOR><ZONE><![CDATA[eu-1]]></ZONE></TEMPLATE>"
    "<MONITORING/></HOST>"
)
DISABLED_HOST = HOST.replace("<ID>0</ID><NAME>node1</NAME><STATE>2</STATE>", "<ID>1</ID><NAME>node2</NAME><STATE>4</STATE>")
VNET = (  # OPENNEBULA.md 3.3, the AR of ONED-OBSERVED.md 9
    "<VNET><ID>0</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>lan</NAME>"
    "<CLUSTERS><ID>0</ID></CLUSTERS><BRIDGE><![CDATA[br0]]></BRIDGE><STATE>1</STATE><PREV_STATE>0</PREV_STATE>"
    "<VN_MAD><![CDATA[dummy]]></VN_MAD><USED_LEASES>1</USED_LEASES>"
    "<TEMPLATE><NETWORK_MASK><![CDATA[255.255.255.0]]></NETWORK_MASK></TEMPLATE><AR_POOL><AR><AR_ID>0</AR_ID>"
    "<IP><![CDATA[10.1.2.3]]></IP><MAC><![CDATA[02:00:0a:01:02:03]]></MAC><SIZE>4</SIZE><TYPE>IP4</TYPE>"
    "<USED_LEASES>1</USED_LEASES><LEASES><LEASE><IP><![CDATA[10.1.2.3]]></IP>"
    "<MAC><![CDATA[02:00:0a:01:02:03]]></MAC><VM>7</VM></LEASE></LEASES></AR></AR_POOL></VNET>"
)
USER = (  # OPENNEBULA.md 3.4
    "<USER><ID>2</ID><GID>1</GID><GROUPS><ID>1</ID></GROUPS><GNAME>users</GNAME><NAME>alice</NAME>"
    "<PASSWORD>0a1b</PASSWORD><AUTH_DRIVER>core</AUTH_DRIVER><ENABLED>1</ENABLED><TEMPLATE/></USER>"
)
ADMIN = (USER.replace("<ID>2</ID><GID>1</GID><GROUPS><ID>1</ID>", "<ID>0</ID><GID>0</GID><GROUPS><ID>0</ID>")
         .replace("users", "oneadmin").replace("alice", "oneadmin"))


def ok(value: object) -> list[object]:
    return [True, value, 0]


def refused(message: str, code: int, resource: int = -1) -> list[object]:
    return [False, message, code, resource, -1]


NO_VM = refused("[one.vm.info] Error getting virtual machine [9999].", 0x400, 9999)


class FakeOne:
    """A stand-in for the daemon: a canned reply (or a function of the arguments) per method."""

    def __init__(self) -> None:
        self.replies: dict[str, object] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False)
        self.server.register_instance(self)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/RPC2"

    def _dispatch(self, method: str, params: tuple[Any, ...]) -> object:
        self.calls.append((method, params))
        if method not in self.replies:
            raise xmlrpc.client.Fault(-506, f"Method '{method}' not defined")
        reply = self.replies[method]
        return reply(*params[1:]) if callable(reply) else reply

    def args(self, method: str) -> list[tuple[Any, ...]]:
        """The arguments (session dropped) of each call of ``method``."""
        return [params[1:] for name, params in self.calls if name == method]


@pytest.fixture
def one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOne]:
    """The fake server, with ONE_XMLRPC and ONE_AUTH pointing at it and at a credentials file."""
    auth = tmp_path / "one_auth"
    auth.write_text(SESSION + "\nignored second line\n")
    fake = FakeOne()
    monkeypatch.setenv("ONE_XMLRPC", fake.endpoint)
    monkeypatch.setenv("ONE_AUTH", str(auth))
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """``run("vm", "list")`` -> (exit status, stdout, stderr) of the CLI."""
    def invoke(*argv: str) -> tuple[int, str, str]:
        status = cli.main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err
    return invoke


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the client ----------------------------------------------------------------------------


def test_client_reads_a_vm_like_pyone(one: FakeOne) -> None:
    one.replies["one.vm.info"] = ok(RUNNING_VM)
    vm = Client().vm_info(7)
    assert one.calls == [("one.vm.info", (SESSION, 7))]
    assert (vm.id, vm.name, vm.uname, vm.state_name, vm.host, vm.cpu, vm.memory) == (
        7, "web", "oneadmin", "RUNNING", "node2", 1.0, 512)
    assert vm.ips == ["10.0.0.5", "10.0.1.9"]
    assert vm.template["NIC"] == [{"IP": "10.0.0.5", "NIC_ID": "0"}, {"IP": "10.0.1.9", "NIC_ID": "1"}]
    assert vm.template["VMID"] == "7"
    assert vm.user_template == {"DESCRIPTION": "front end"}
    assert [h["HOSTNAME"] for h in vm.history] == ["node1", "node2"]


def test_client_reads_pools_hosts_vnets_users(one: FakeOne) -> None:
    one.replies.update({
        "one.vmpool.infoextended": ok(VM_POOL), "one.hostpool.info": ok(f"<HOST_POOL>{DISABLED_HOST}{HOST}</HOST_POOL>"),
        "one.vn.info": ok(VNET), "one.userpool.info": ok(f"<USER_POOL>{USER}{ADMIN}</USER_POOL>"),
    })
    client = Client()
    pending, running = client.vm_list()
    assert (pending.state_name, pending.host, pending.history, running.host) == ("PENDING", "", [], "node2")
    assert one.args("one.vmpool.infoextended") == [(-2, -1, -1, -1)]
    hosts = client.host_list()
    assert [(h.id, h.state_name, h.max_cpu, h.mem_usage) for h in hosts] == [
        (1, "DISABLED", 800, 524288), (0, "MONITORED", 800, 524288)]
    vnet = client.vnet_info(0)
    assert (vnet.state_name, vnet.size, vnet.used_leases) == ("READY", 4, 1)
    assert vnet.leases == [{"AR_ID": "0", "IP": "10.1.2.3", "MAC": "02:00:0a:01:02:03", "VM": "7"}]
    assert [(u.name, u.gname, u.enabled) for u in client.user_list()] == [("alice", "users", True),
                                                                        ("oneadmin", "oneadmin", True)]


def test_client_sends_opennebula_74_argument_lists(one: FakeOne) -> None:
    for method in ("one.vm.allocate", "one.vm.deploy", "one.vm.migrate", "one.vm.recover", "one.host.allocate",
                   "one.vn.allocate", "one.user.allocate", "one.host.status"):
        one.replies[method] = ok(5)
    client = Client()
    assert client.vm_allocate("CPU=1 MEMORY=64", hold=True) == 5
    client.vm_deploy(5, 1)
    client.vm_migrate(5, 2, live=True)
    client.vm_recover(5, Recover.DELETE)
    assert client.host_allocate("node1", "dummy", "dummy") == 5
    assert client.vnet_allocate("NAME=lan") == 5
    assert client.user_allocate("bob", "secret") == 5
    assert [params for _, params in one.calls] == [
        (SESSION, "CPU=1 MEMORY=64", True), (SESSION, 5, 1, False, -1), (SESSION, 5, 2, True, False, -1, 0),
        (SESSION, 5, 3), (SESSION, "node1", "dummy", "dummy", -1), (SESSION, "NAME=lan", -1),
        (SESSION, "bob", "secret", "", []),
    ]


def test_client_maps_failures_to_one_error(one: FakeOne) -> None:
    one.replies["one.vm.info"] = NO_VM
    with pytest.raises(OneError) as refusal:
        Client().vm_info(9999)
    assert (refusal.value.message, refusal.value.code) == ("[one.vm.info] Error getting virtual machine [9999].", 0x400)
    with pytest.raises(OneError) as fault:
        Client().host_info(0)  # not answered by the fake: an XML-RPC fault
    assert fault.value.code == -1
    assert "-506" in str(fault.value)
    one.replies["one.host.info"] = ok("not xml")
    with pytest.raises(OneError, match="malformed HOST"):
        Client().host_info(0)


def test_client_configuration(one: FakeOne, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one.replies["one.system.version"] = ok("7.4.0")
    assert Client(session="bob:pw").version() == "7.4.0"
    assert one.calls[-1] == ("one.system.version", ("bob:pw",))
    monkeypatch.delenv("ONE_XMLRPC")
    assert Client().endpoint == "http://localhost:2633/RPC2"
    with pytest.raises(ClientError, match="http:// or https://"):
        Client("localhost:2633")
    monkeypatch.setenv("ONE_AUTH", str(tmp_path / "absent"))
    with pytest.raises(ClientError, match="absent: No such file"):
        Client()
    (tmp_path / "bad").write_text("no-colon\n")
    monkeypatch.setenv("ONE_AUTH", str(tmp_path / "bad"))
    with pytest.raises(ClientError, match="user:password"):
        Client()
    monkeypatch.delenv("ONE_AUTH")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".one").mkdir()
    (tmp_path / ".one" / "one_auth").write_text("carol:pw\n")
    assert Client().session == "carol:pw"


# -- the CLI: lists and shows --------------------------------------------------------------


def test_vm_list_table(one: FakeOne, run: Run) -> None:
    one.replies["one.vmpool.infoextended"] = ok(VM_POOL)
    status, out, err = run("vm", "list")
    assert (status, err) == (0, "")
    header, pending, running = out.splitlines()
    assert header.split() == ["ID", "USER", "NAME", "STAT", "HOST", "CPU", "MEM", "IPS", "TIME"]
    assert pending.split()[:7] == ["8", "alice", "big", "pend", "-", "0.5", "2G"]
    assert running.split()[:8] == ["7", "oneadmin", "web", "runn", "node2", "1", "512M", "10.0.0.5,10.0.1.9"]
    assert header.index("STAT") == running.index("runn")  # aligned
    run("vm", "list", "--all")
    assert one.args("one.vmpool.infoextended")[-1] == (-2, -1, -1, -2)


def test_json_anywhere_on_the_line(one: FakeOne, run: Run) -> None:
    one.replies["one.vmpool.infoextended"] = ok(VM_POOL)
    for argv in (["--json", "vm", "list"], ["vm", "--json", "list"], ["vm", "list", "--json"]):
        status, out, _ = run(*argv)
        vms = json.loads(out)
        assert status == 0
        assert [(v["id"], v["state_name"], v["ips"]) for v in vms] == [
            (8, "PENDING", []), (7, "RUNNING", ["10.0.0.5", "10.0.1.9"])]
    assert vms[1]["template"]["NIC"][0] == {"IP": "10.0.0.5", "NIC_ID": "0"}


def test_vm_show(one: FakeOne, run: Run) -> None:
    one.replies["one.vm.info"] = ok(RUNNING_VM)
    status, out, _ = run("vm", "show", "7")
    assert status == 0
    assert out.startswith("VIRTUAL MACHINE 7 INFORMATION\nID ")
    lines = out.splitlines()
    assert "STATE      : RUNNING" in lines and "HOST       : node2" in lines and "DEPLOY ID  : one-7" in lines
    assert "WHY PENDING" not in out
    assert 'NIC = [\n  IP = "10.0.0.5",\n  NIC_ID = "0" ]' in out
    assert 'DESCRIPTION = "front end"' in out
    history = out.split("VIRTUAL MACHINE HISTORY\n")[1].splitlines()
    assert history[0].split() == ["SEQ", "HOST", "ACTION", "START", "END", "TIME"]
    assert history[1].split()[:3] == ["0", "node1", "migrate"]
    assert history[2].split()[:3] == ["1", "node2", "none"]


def test_vm_show_says_why_pending(one: FakeOne, run: Run) -> None:
    one.replies["one.vm.info"] = ok(PENDING_VM)
    _, out, _ = run("vm", "show", "8")
    assert ("WHY PENDING\nTue Nov 25 06:00:00 2026: Not enough CPU on hosts: 0,1; "
            "Requirements not met on hosts: 2\n") in out
    assert "VIRTUAL MACHINE HISTORY" not in out


def test_host_list_and_show(one: FakeOne, run: Run) -> None:
    one.replies.update({"one.hostpool.info": ok(f"<HOST_POOL>{DISABLED_HOST}{HOST}</HOST_POOL>"),
                        "one.host.info": ok(HOST)})
    _, out, _ = run("host", "list")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STAT", "RVM", "ALLOCATED_CPU", "ALLOCATED_MEM"]
    assert lines[1].split() == ["1", "node2", "dsbl", "1", "100", "/", "800", "512M", "/", "16G"]
    assert lines[2].split()[:3] == ["0", "node1", "on"]
    _, out, _ = run("host", "show", "0")
    assert "STATE         : MONITORED" in out and 'ZONE = "eu-1"' in out


def test_vnet_show_lists_leases(one: FakeOne, run: Run) -> None:
    one.replies.update({"one.vn.info": ok(VNET), "one.vnpool.info": ok(f"<VNET_POOL>{VNET}</VNET_POOL>")})
    _, out, _ = run("vnet", "show", "0")
    leases = out.split("LEASES\n")[1].splitlines()
    assert leases[0].split() == ["AR", "IP", "MAC", "VM"]
    assert leases[1].split() == ["0", "10.1.2.3", "02:00:0a:01:02:03", "7"]
    assert "USED LEASES : 1 / 4" in out
    _, out, _ = run("vnet", "list")
    assert out.splitlines()[1].split() == ["0", "oneadmin", "lan", "dummy", "br0", "1", "/", "4"]
    assert one.args("one.vnpool.info") == [(-2, -1, -1)]


def test_users(one: FakeOne, run: Run) -> None:
    one.replies.update({"one.userpool.info": ok(f"<USER_POOL>{USER}{ADMIN}</USER_POOL>"), "one.user.info": ok(USER),
                        "one.user.allocate": ok(3), "one.user.passwd": ok(2), "one.user.delete": ok(2)})
    _, out, _ = run("user", "list")
    assert [line.split() for line in out.splitlines()] == [
        ["ID", "NAME", "GROUP", "AUTH", "ENABLED"], ["2", "alice", "users", "core", "yes"],
        ["0", "oneadmin", "oneadmin", "core", "yes"]]
    assert "GROUP       : users" in run("user", "show", "2")[1]
    assert run("user", "create", "bob", "secret")[1] == "ID: 3\n"
    assert run("user", "passwd", "2", "new")[0] == 0
    assert run("user", "delete", "2")[0] == 0
    assert one.args("one.user.allocate") == [("bob", "secret", "", [])]
    assert one.args("one.user.passwd") == [(2, "new")]


# -- the CLI: changes ----------------------------------------------------------------------


def test_vm_create_from_file_stdin_or_shortcuts(one: FakeOne, run: Run, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    one.replies["one.vm.allocate"] = ok(7)
    template = tmp_path / "web.one"
    template.write_text('NAME = "web"\nCPU = 1\nMEMORY = 512\n')
    assert run("vm", "create", str(template)) == (0, "ID: 7\n", "")
    assert run("--json", "vm", "create", str(template), "--hold")[1] == '{\n  "id": 7\n}\n'
    monkeypatch.setattr(sys, "stdin", StringIO("CPU=2 MEMORY=64"))
    run("vm", "create", "-")
    run("vm", "create", "--name", "db", "--cpu", "0.5", "--memory", "1024")
    run("vm", "create", str(template), "--memory", "64")
    sent = one.args("one.vm.allocate")
    assert sent[:3] == [('NAME = "web"\nCPU = 1\nMEMORY = 512\n', False), ('NAME = "web"\nCPU = 1\nMEMORY = 512\n', True),
                        ("CPU=2 MEMORY=64", False)]
    assert sent[3] == ('NAME = "db"\nCPU = "0.5"\nMEMORY = "1024"\n', False)
    assert sent[4] == ('NAME = "web"\nCPU = "1"\nMEMORY = "64"\n', False)


def test_vm_actions_on_several_ids(one: FakeOne, run: Run) -> None:
    one.replies["one.vm.action"] = lambda action, vm_id: ok(vm_id)
    assert run("vm", "terminate", "7", "8") == (0, "", "")
    run("vm", "shutdown", "9")  # 1.4's word, sent as 7.4's
    run("vm", "poweroff-hard", "7")
    assert one.args("one.vm.action") == [("terminate", 7), ("terminate", 8), ("terminate", 9), ("poweroff-hard", 7)]
    status, out, _ = run("--json", "vm", "resume", "7")
    assert (status, json.loads(out)) == (0, {"ids": [7]})


def test_one_refusal_among_several_ids(one: FakeOne, run: Run) -> None:
    one.replies["one.vm.action"] = lambda action, vm_id: ok(vm_id) if vm_id != 8 else refused(
        '[one.vm.action] Error performing action "resume": This action is not available for state RUNNING', 0x800)
    status, _, err = run("vm", "resume", "7", "8", "9")
    assert status == 1
    assert err == ('nebula: VM 8: [one.vm.action] Error performing action "resume": '
                   "This action is not available for state RUNNING\n")
    assert one.args("one.vm.action") == [("resume", 7), ("resume", 8), ("resume", 9)]


def test_deploy_migrate_recover_delete(one: FakeOne, run: Run) -> None:
    for method in ("one.vm.deploy", "one.vm.migrate", "one.vm.recover"):
        one.replies[method] = ok(7)
    run("vm", "deploy", "7", "1")
    run("vm", "migrate", "7", "2", "--live")
    run("vm", "migrate", "7", "2")
    run("vm", "recover", "7", "--retry")
    run("vm", "delete", "7", "8")
    assert one.args("one.vm.deploy") == [(7, 1, False, -1)]
    assert one.args("one.vm.migrate") == [(7, 2, True, False, -1, 0), (7, 2, False, False, -1, 0)]
    assert one.args("one.vm.recover") == [(7, 2), (7, 3), (8, 3)]
    with pytest.raises(SystemExit):  # argparse: one of --success ... --recreate is required
        run("vm", "recover", "7")


def test_host_create_and_status(one: FakeOne, run: Run) -> None:
    one.replies.update({"one.host.allocate": ok(3), "one.host.status": ok(3), "one.host.delete": ok(3)})
    assert run("host", "create", "node3")[1] == "ID: 3\n"
    run("host", "create", "kvm1", "-i", "kvm", "-v", "kvm")
    for command in ("enable", "disable", "offline"):
        run("host", command, "3")
    run("host", "delete", "3")
    assert one.args("one.host.allocate") == [("node3", "dummy", "dummy", -1), ("kvm1", "kvm", "kvm", -1)]
    assert one.args("one.host.status") == [(3, 0), (3, 1), (3, 2)]
    assert one.args("one.host.delete") == [(3,)]


def test_vm_wait(one: FakeOne, run: Run) -> None:
    states = iter([PENDING_VM, PENDING_VM, RUNNING_VM])
    one.replies["one.vm.info"] = lambda vm_id: ok(next(states))
    assert run("vm", "wait", "7", "running", "--interval", "0.01") == (0, "VM 7 is RUNNING\n", "")
    assert len(one.args("one.vm.info")) == 3
    one.replies["one.vm.info"] = ok(PENDING_VM)
    status, _, err = run("vm", "wait", "8", "RUNNING", "--timeout", "0.05", "--interval", "0.01")
    assert (status, err) == (1, "nebula: VM 8 is still PENDING after 0.05 s (waited for RUNNING)\n")
    one.replies["one.vm.info"] = ok(PENDING_VM.replace("<STATE>1</STATE>", "<STATE>6</STATE>"))
    assert run("vm", "wait", "8", "RUNNING")[2] == "nebula: VM 8 is DONE: it will not become RUNNING\n"
    assert run("vm", "wait", "8", "ACTIVE")[0] == 1
    assert run("vm", "wait", "8", "RUNING")[2].startswith("nebula: unknown state 'RUNING'")


# -- the CLI: errors are one line, exit 1 --------------------------------------------------


def test_refusal_is_one_line(one: FakeOne, run: Run) -> None:
    one.replies["one.vm.info"] = NO_VM
    assert run("vm", "show", "9999") == (1, "", "nebula: [one.vm.info] Error getting virtual machine [9999].\n")
    one.replies["one.vm.allocate"] = refused(
        "[one.vm.allocate] Parse error: syntax error, unexpected $end,\nexpecting CBRACKET", 0x2000)
    status, _, err = run("vm", "create", "--cpu", "1")
    assert status == 1
    assert err == "nebula: [one.vm.allocate] Parse error: syntax error, unexpected $end, expecting CBRACKET\n"


def test_fault_is_one_line(one: FakeOne, run: Run) -> None:
    status, _, err = run("host", "list")
    assert (status, err) == (1, "nebula: one.hostpool.info: XML-RPC fault -506: Method 'one.hostpool.info' not defined\n")


def test_connection_refused(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "auth").write_text(SESSION)
    monkeypatch.setenv("ONE_AUTH", str(tmp_path / "auth"))
    endpoint = f"http://127.0.0.1:{free_port()}/RPC2"
    status, out, err = run("--endpoint", endpoint, "vm", "terminate", "1", "2")
    assert (status, out) == (1, "")
    assert err == f"nebula: cannot reach Nebula at {endpoint}: connection refused\n"


def test_missing_auth_file(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONE_AUTH", str(tmp_path / "nope"))
    status, out, err = run("--endpoint", "http://127.0.0.1:1/RPC2", "vm", "list")
    assert (status, out) == (1, "")
    assert err.startswith(f"nebula: cannot read the credentials file {tmp_path / 'nope'}: No such file or directory")
    assert err.count("\n") == 1


def test_auth_option_overrides_one_auth(one: FakeOne, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONE_AUTH", "/nonexistent")
    one.replies["one.userpool.info"] = ok("<USER_POOL></USER_POOL>")
    assert run("user", "list", "--auth", "bob:pw") == (0, "ID  NAME  GROUP  AUTH  ENABLED\n", "")
    assert one.calls == [("one.userpool.info", ("bob:pw",))]


def test_unreadable_template_file(one: FakeOne, run: Run, tmp_path: Path) -> None:
    status, _, err = run("vnet", "create", str(tmp_path / "lan.net"))
    assert (status, err) == (1, f"nebula: cannot read {tmp_path / 'lan.net'}: No such file or directory\n")
    assert one.calls == []


def test_aliases(one: FakeOne, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    one.replies["one.hostpool.info"] = ok(f"<HOST_POOL>{HOST}</HOST_POOL>")
    monkeypatch.setattr(sys, "argv", ["onehost", "list", "--json"])
    assert cli.onehost() == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "node1"


# -- owned objects, ranges, tokens: the client ---------------------------------------------

LOCKED_TEMPLATE = (  # 7.4's VMTEMPLATE with LOCK before PERMISSIONS, as oned writes it
    "<VMTEMPLATE><ID>3</ID><UID>2</UID><GID>100</GID><UNAME>alice</UNAME><GNAME>devs</GNAME><NAME>small</NAME>"
    "<LOCK><LOCKED>2</LOCKED><OWNER>2</OWNER><TIME>1700000000</TIME><REQ_ID>-1</REQ_ID></LOCK>"
    "<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>1</GROUP_U>"
    "<GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A><OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>1</OTHER_A>"
    "</PERMISSIONS><REGTIME>1700000000</REGTIME><TEMPLATE><CPU><![CDATA[1]]></CPU></TEMPLATE></VMTEMPLATE>"
)
RESERVATION = (VNET.replace("<ID>0</ID><UID>0</UID>", "<ID>4</ID><UID>0</UID>")
               .replace("<VN_MAD>", "<PARENT_NETWORK_ID><![CDATA[0]]></PARENT_NETWORK_ID><VN_MAD>")
               .replace("<VM>7</VM>", "<VM>-1</VM>"))
USER_WITH_TOKENS = USER.replace("<GROUPS><ID>1</ID></GROUPS>", "<GROUPS><ID>1</ID><ID>100</ID></GROUPS>").replace(
    "<TEMPLATE/>", "<LOGIN_TOKEN><TOKEN><![CDATA[a4b2147f7532ffff]]></TOKEN><EXPIRATION_TIME>-1</EXPIRATION_TIME>"
    "<EGID>100</EGID></LOGIN_TOKEN><TEMPLATE><SSH_PUBLIC_KEY><![CDATA[ssh-ed25519 AAA]]></SSH_PUBLIC_KEY></TEMPLATE>")


def test_client_reads_permissions_locks_ranges_tokens(one: FakeOne) -> None:
    one.replies.update({"one.vm.info": ok(RUNNING_VM), "one.template.info": ok(LOCKED_TEMPLATE),
                        "one.vn.info": ok(RESERVATION), "one.user.info": ok(USER_WITH_TOKENS)})
    client = Client()
    vm = client.vm_info(7)
    assert (vm.permissions, vm.lock, vm.uid, vm.gid) == ("600", 0, 0, 0)
    template = client.template_info(3)
    assert (template.permissions, template.lock, template.gid, template.gname) == ("641", LockLevel.MANAGE, 100, "devs")
    vnet = client.vnet_info(4)
    assert (vnet.parent_id, vnet.permissions) == (0, "")  # the fake's VNET predates PERMISSIONS
    assert vnet.ranges == [AddressRange(ar_id=0, type="IP4", ip="10.1.2.3", ip_end="", mac="02:00:0a:01:02:03",
                                        mac_end="", size=4, used_leases=1)]
    user = client.user_info(2)
    assert (user.groups, user.tokens) == ([1, 100], [LoginToken("a4b2147f7532ffff", -1, 100)])
    assert user.template == {"SSH_PUBLIC_KEY": "ssh-ed25519 AAA"}


def test_client_sends_owned_and_new_argument_lists(one: FakeOne) -> None:
    for kind in Kind:
        for op in ("chmod", "chown", "rename", "update", "lock", "unlock"):
            one.replies[f"one.{kind}.{op}"] = ok(5)
    for method in ("one.vm.resize", "one.vn.hold", "one.vn.release", "one.vn.rm_ar", "one.user.enable"):
        one.replies[method] = ok(5)
    one.replies.update({"one.vn.reserve": ok(9), "one.template.clone": ok(4), "one.user.login": ok("tok"),
                        "one.vnpool.info": ok("<VNET_POOL/>")})
    client = Client()
    client.chmod(Kind.VM, 5, "640")
    client.chown(Kind.VNET, 5, gid=100)
    client.rename(Kind.TEMPLATE, 5, "web")
    client.update(Kind.VM, 5, "NOTE=1", append=True)
    client.lock(Kind.TEMPLATE, 5, LockLevel.MANAGE)
    client.unlock(Kind.VNET, 5)
    client.vm_resize(5, cpu=0.5, memory=128)
    client.vnet_hold(5, "10.0.0.4")
    client.vnet_release(5, "02:00:0A:00:00:01")
    client.vnet_remove_range(5, 1, force=True)
    assert client.vnet_reserve(5, "mine", 2, ar_id=1) == 9
    assert client.template_clone(5, "copy") == 4
    assert client.user_login("alice", valid=-1) == "tok"
    client.user_enable(5, False)
    client.vnet_list(PoolFilter.MINE)
    assert [(name, params[1:]) for name, params in one.calls] == [
        ("one.vm.chmod", (5, 1, 1, 0, 1, 0, 0, 0, 0, 0)), ("one.vn.chown", (5, -1, 100)),
        ("one.template.rename", (5, "web")), ("one.vm.update", (5, "NOTE=1", 1)),
        ("one.template.lock", (5, 2, False)), ("one.vn.unlock", (5,)),
        ("one.vm.resize", (5, 'CPU = "0.5"\nMEMORY = "128"\n', True)),
        ("one.vn.hold", (5, 'LEASES = [\n  IP = "10.0.0.4" ]\n')),
        ("one.vn.release", (5, 'LEASES = [\n  MAC = "02:00:0a:00:00:01" ]\n')), ("one.vn.rm_ar", (5, 1, True)),
        ("one.vn.reserve", (5, 'NAME = "mine"\nSIZE = "2"\nAR_ID = "1"\n')), ("one.template.clone", (5, "copy", False)),
        ("one.user.login", ("alice", "", -1, -1)), ("one.user.enable", (5, False)), ("one.vnpool.info", (-3, -1, -1)),
    ]
    calls = len(one.calls)
    for bad in (lambda: client.chmod(Kind.VM, 5, "648"), lambda: client.vnet_hold(5, "10.0.0"),
                lambda: client.vm_resize(5)):
        with pytest.raises(ValueError):
            bad()
    assert len(one.calls) == calls  # refused before sending


def test_client_monitoring(one: FakeOne) -> None:
    one.replies.update({
        "one.vm.monitoring": ok("<MONITORING_DATA><MONITORING><ID>7</ID><CPU>10</CPU><TIMESTAMP>1</TIMESTAMP></MONITORING>"
                                "<MONITORING><ID>7</ID><CPU>20</CPU><TIMESTAMP>2</TIMESTAMP></MONITORING></MONITORING_DATA>"),
        "one.host.monitoring": ok("<MONITORING_DATA></MONITORING_DATA>"),
    })
    assert Client().vm_monitoring(7) == {"ID": "7", "CPU": "20", "TIMESTAMP": "2"}  # the latest sample
    assert Client().host_monitoring(0) == {}


# -- owned objects, ranges, tokens: the CLI ------------------------------------------------


def test_owned_commands_on_every_kind(one: FakeOne, run: Run, tmp_path: Path) -> None:
    for prefix in ("vm", "vn", "template"):
        for op in ("chmod", "chown", "rename", "update", "lock", "unlock"):
            one.replies[f"one.{prefix}.{op}"] = lambda *args: ok(args[0])
    notes = tmp_path / "notes"
    notes.write_text("NOTE = 1\n")
    for command, prefix in (("vm", "vm"), ("vnet", "vn"), ("template", "template")):
        assert run(command, "chmod", "3", "640") == (0, "", "")
        run(command, "chown", "3", "2")
        run(command, "chgrp", "3", "100")
        run(command, "rename", "3", "x")
        run(command, "update", "3", str(notes), "--append")
        run(command, "lock", "3", "4", "--admin")
        run(command, "unlock", "3")
        assert one.args(f"one.{prefix}.chmod") == [(3, 1, 1, 0, 1, 0, 0, 0, 0, 0)]
        assert one.args(f"one.{prefix}.chown") == [(3, 2, -1), (3, -1, 100)]
        assert one.args(f"one.{prefix}.update") == [(3, "NOTE = 1\n", 1)]
        assert one.args(f"one.{prefix}.lock") == [(3, 3, False), (4, 3, False)]
    run("vm", "lock", "3")
    assert one.args("one.vm.lock")[-1] == (3, 1, False)  # --use by default
    with pytest.raises(SystemExit):
        run("vm", "chmod", "3", "rw-")


def test_show_permissions_lock_ranges_tokens(one: FakeOne, run: Run) -> None:
    one.replies.update({"one.template.info": ok(LOCKED_TEMPLATE), "one.vn.info": ok(RESERVATION),
                        "one.user.info": ok(USER_WITH_TOKENS), "one.vm.info": ok(RUNNING_VM)})
    out = run("template", "show", "3")[1]
    assert "LOCK          : MANAGE" in out.splitlines()
    assert "PERMISSIONS\nOWNER : um-\nGROUP : u--\nOTHER : --a\n" in out
    assert "PERMISSIONS\nOWNER : um-\nGROUP : ---\nOTHER : ---\n" in run("vm", "show", "7")[1]
    assert "LOCK" not in run("vm", "show", "7")[1]
    out = run("vnet", "show", "4")[1]
    assert "PARENT NETWORK : 0" in out.splitlines()
    ranges = out.split("ADDRESS RANGES\n")[1].splitlines()
    assert ranges[1].split() == ["0", "IP4", "10.1.2.3", "-", "02:00:0a:01:02:03", "4", "1"]
    out = run("user", "show", "2")[1]
    assert "GROUPS      : 1,100" in out.splitlines()
    assert out.split("LOGIN TOKENS (SHA-256 DIGEST)\n")[1].splitlines()[1].split() == ["a4b2147f7532", "100", "never"]
