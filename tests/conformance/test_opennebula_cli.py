"""The real opennebula-cli 7.4.0 commands against Nebula, as an admin and a plain user run them.

The CLI lives in a venv of its own (``make test`` builds ``.venv-onecli``; ``NEBULA_ONECLI``
names its bin directory). Its quirks against real oned too (HOST column null, host states as
``UNKNOWN_<n>``) are OpenNebula's, not ours: see ../shared/OPENNEBULA.md section 3.10.

Some commands of this CLI release cannot work against oned either, and the tests pin how they
fail here: ``chmod`` sends the octal as one string where oned takes nine integers (-501);
``onevnet updatear`` sends the AR id as an extra argument (-501); ``onevnet hold/release``
send a bare address where oned parses a template (a ``LEASES = [ IP = ... ]`` argument works);
``oneuser chgrp`` calls ``one.user.chown``, which no server has (-506); ``chown`` takes numeric
ids only; ``oneuser token-create`` and ``login`` are placeholders that call nothing (tokens
come from ``one.user.login``); ``onevm show --full`` and ``onevm top`` cannot print a
monitored VM (pyone's Decimal and MONITORING objects are not JSON), so ``--backend raw`` is
used for those.
"""

from __future__ import annotations

import json
import os
import subprocess
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from helpers import wait_for

from nebula_core.daemon import Cloud

ONECLI = os.environ.get("NEBULA_ONECLI", str(Path(__file__).parents[2] / ".venv-onecli" / "bin"))
pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.skipif(not Path(ONECLI, "onevm").exists() and "CI" not in os.environ,
                       reason="opennebula-cli is not installed: run make test"),
]


def one(cloud: Cloud, command: str, *args: str, ok: bool = True, auth: Path | None = None) -> Any:
    """Run an OpenNebula command with ONE_XMLRPC and ONE_AUTH (default: oneadmin's) set; its JSON output."""
    env = dict(os.environ, ONE_AUTH=str(auth or cloud.config.one_auth_path), ONE_XMLRPC=cloud.api.endpoint,
               NO_COLOR="1")
    done = subprocess.run([str(Path(ONECLI, command)), "--output", "json", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode == 0) == ok, (command, args, done.stdout, done.stderr)
    return json.loads(done.stdout) if ok and done.stdout.strip() else done


def refused(cloud: Cloud, command: str, *args: str, auth: Path | None = None) -> str:
    """Run a command that must fail (non-zero exit); the error it printed."""
    done = one(cloud, command, *args, ok=False, auth=auth)
    return str(done.stderr + done.stdout)


def session(tmp_path: Path, credentials: str) -> Path:
    """A ONE_AUTH file holding ``user:password`` or ``user:token``."""
    path = tmp_path / "sessions" / credentials.replace(":", "_")
    path.parent.mkdir(exist_ok=True)
    path.write_text(credentials + "\n")
    return path


def vm_state(cloud: Cloud, vm_id: int) -> tuple[str, str]:
    shown = one(cloud, "onevm", "show", str(vm_id))
    return shown["state"], shown["lcm_state"]


def vm_host(cloud: Cloud, vm_id: int) -> tuple[str, str]:
    """LCM_STATE and the host of the last history record (the CLI's HOST column is always null)."""
    shown = one(cloud, "onevm", "--backend", "raw", "show", str(vm_id), "--full")  # raw: monitored VMs print
    history = shown["HISTORY_RECORDS"]["HISTORY"]
    return shown["LCM_STATE"], (history[-1] if isinstance(history, list) else history)["HOSTNAME"]


def test_daily_workflow(cloud: Cloud, tmp_path: Path) -> None:
    """Hosts, a network and a VM through its life; a host drained with flush, then taken out of service."""
    assert one(cloud, "onehost", "create", "node1", "-i", "dummy", "-v", "dummy")["id"] == 0
    wait_for(lambda: one(cloud, "onehost", "show", "0")["state_id"] == 2, what="host MONITORED")
    (tmp_path / "lan.net").write_text('NAME = "lan"\nAR = [ TYPE = "IP4", IP = "10.3.0.1", SIZE = "8" ]\n')
    assert one(cloud, "onevnet", "create", str(tmp_path / "lan.net"))["id"] == 0
    (tmp_path / "web.vm").write_text('NAME = "web"\nCPU = 0.5\nMEMORY = 64\nNIC = [ NETWORK = "lan" ]\n')
    vm_id = one(cloud, "onevm", "create", str(tmp_path / "web.vm"))["id"]
    wait_for(lambda: vm_state(cloud, vm_id) == ("ACTIVE", "RUNNING"), what="VM RUNNING")
    listed = one(cloud, "onevm", "list")
    assert [(vm["id"], vm["name"], vm["ips"]) for vm in listed] == [(vm_id, "web", ["10.3.0.1"])]
    assert [host["name"] for host in one(cloud, "onehost", "list")] == ["node1"]
    assert [net["name"] for net in one(cloud, "onevnet", "list")] == ["lan"]

    one(cloud, "onevm", "poweroff", str(vm_id))
    wait_for(lambda: vm_state(cloud, vm_id)[0] == "POWEROFF", what="VM POWEROFF")
    one(cloud, "onevm", "resume", str(vm_id))
    wait_for(lambda: vm_state(cloud, vm_id) == ("ACTIVE", "RUNNING"), what="VM RUNNING again")

    # drain node1: flush disables it and reschedules its VMs, which the scheduler moves to node2
    one(cloud, "onehost", "create", "node2", "-i", "dummy", "-v", "dummy")
    one(cloud, "onehost", "flush", "0")
    wait_for(lambda: vm_host(cloud, vm_id) == ("3", "node2"), what="VM RUNNING on node2")
    assert one(cloud, "onehost", "show", "0")["state_id"] == 4  # DISABLED
    assert "Can not remove a host with running VMs" in refused(cloud, "onehost", "delete", "1")
    one(cloud, "onevm", "terminate", str(vm_id))
    wait_for(lambda: one(cloud, "onevm", "list") == [], what="VM gone from the list")
    one(cloud, "onevnet", "delete", "0")

    one(cloud, "onehost", "offline", "0")
    assert one(cloud, "onehost", "show", "0")["state_id"] == 8
    one(cloud, "onehost", "enable", "0")
    one(cloud, "onehost", "rename", "0", "node3")
    (tmp_path / "rack").write_text('RACK = "r7"\n')
    one(cloud, "onehost", "update", "0", str(tmp_path / "rack"), "--append")
    shown = one(cloud, "onehost", "show", "0")
    assert (shown["name"], shown["template"]["RACK"]) == ("node3", "r7")
    one(cloud, "onehost", "delete", "0,1")  # a list of ids, as every batch verb takes
    assert one(cloud, "onehost", "list") == []


def test_users_and_refusals(cloud: Cloud, tmp_path: Path) -> None:
    """Users and groups: create, groups, password, enable/disable, a login token as ONE_AUTH, delete."""
    bob = str(one(cloud, "oneuser", "create", "bob", "secret")["id"])  # sends a boolean before the group list
    assert [user["name"] for user in one(cloud, "oneuser", "list")] == ["bob", "oneadmin"]
    assert one(cloud, "oneuser", "show", bob)["group"] == "users"
    assert "Error getting virtual machine [42]" in refused(cloud, "onevm", "show", "42")

    assert one(cloud, "onegroup", "create", "devs")["id"] == 100
    assert one(cloud, "onegroup", "show", "100") == {"id": 100, "name": "devs"}
    one(cloud, "oneuser", "addgroup", bob, "100")
    assert "Group 100 is not empty" in refused(cloud, "onegroup", "delete", "100")
    assert "Cannot remove user from the primary group" in refused(cloud, "oneuser", "delgroup", bob, "1")
    assert "Method 'one.user.chown' not defined" in refused(cloud, "oneuser", "chgrp", bob, "100")  # as on oned
    one(cloud, "oneuser", "delgroup", bob, "100")

    one(cloud, "oneuser", "passwd", bob, "newpw")
    old_session = session(tmp_path, "bob:secret")
    assert "User couldn't be authenticated" in refused(cloud, "oneuser", "show", bob, auth=old_session)
    bob_session = session(tmp_path, "bob:newpw")
    assert [user["name"] for user in one(cloud, "oneuser", "list", auth=bob_session)] == ["bob"]
    assert "Not authorized to perform USE USER [0]" in refused(cloud, "oneuser", "show", "0", auth=bob_session)
    one(cloud, "oneuser", "disable", bob)
    assert one(cloud, "oneuser", "show", bob)["enabled"] is False
    assert "User couldn't be authenticated" in refused(cloud, "onevm", "list", auth=bob_session)
    one(cloud, "oneuser", "enable", bob)

    # token-create is a placeholder in this CLI (it calls nothing); the token comes from one.user.login
    assert one(cloud, "oneuser", "token-create", "bob") == {"action": "token-create", "id": -1, "message": None,
                                                           "resource": "user"}
    api: Any = xmlrpc.client.ServerProxy(cloud.api.endpoint)
    reply = api.one.user.login("bob:newpw", "bob", "", 60, -1)
    assert reply[0], reply
    assert one(cloud, "oneuser", "show", bob, auth=session(tmp_path, f"bob:{reply[1]}"))["name"] == "bob"

    one(cloud, "oneuser", "delete", bob)
    one(cloud, "onegroup", "delete", "100")
    assert [user["name"] for user in one(cloud, "oneuser", "list")] == ["oneadmin"]
    assert sorted(group["name"] for group in one(cloud, "onegroup", "list")) == ["oneadmin", "users"]


def test_vm_changes_locks_and_owners(cloud: Cloud, tmp_path: Path) -> None:
    """A held VM resized, renamed, updated, given to a plain user and locked; then held, released, run."""
    bob = str(one(cloud, "oneuser", "create", "bob", "secret")["id"])
    bob_session = session(tmp_path, "bob:secret")
    (tmp_path / "web.vm").write_text('NAME = "web"\nCPU = 0.5\nMEMORY = 64\n')
    (tmp_path / "label").write_text('LABEL = "blue"\n')
    vm = str(one(cloud, "onevm", "create", str(tmp_path / "web.vm"), "--hold")["id"])
    other = str(one(cloud, "onevm", "create", str(tmp_path / "web.vm"), "--hold")["id"])
    one(cloud, "onevm", "resize", vm, "--cpu", "1", "--vcpu", "2", "--memory", "128")
    one(cloud, "onevm", "rename", vm, "web2")
    one(cloud, "onevm", "update", vm, str(tmp_path / "label"), "--append")
    one(cloud, "onevm", "chown", vm, bob, "1")  # numeric ids only: the CLI int()s them
    one(cloud, "onevm", "lock", vm, "--manage")
    shown = one(cloud, "onevm", "show", vm, "--full")  # never monitored, so pyone's view prints
    assert (shown["NAME"], shown["UNAME"], shown["GNAME"], shown["STATE"]) == ("web2", "bob", "users", 2)
    assert [shown["TEMPLATE"][key] for key in ("CPU", "VCPU", "MEMORY")] == ["1", "2", "128"]
    assert shown["USER_TEMPLATE"] == {"LABEL": "blue"}
    assert shown["LOCK"]["LOCKED"] == 2
    assert {bit for bit, on in shown["PERMISSIONS"].items() if on} == {"OWNER_U", "OWNER_M"}
    assert "virtual machine is locked" in refused(cloud, "onevm", "release", vm, auth=bob_session)
    assert "-501" in refused(cloud, "onevm", "chmod", vm, "640")  # the octal as one string, as on oned
    one(cloud, "onevm", "unlock", vm, auth=bob_session)

    assert [v["name"] for v in one(cloud, "onevm", "list", auth=bob_session)] == ["web2"]
    assert one(cloud, "onehost", "list", auth=bob_session) == []
    assert f"Not authorized to perform MANAGE VM [{other}]" in refused(cloud, "onevm", "terminate", other,
                                                                         auth=bob_session)
    one(cloud, "onevm", "release", vm, auth=bob_session)  # PENDING: there is no host yet
    one(cloud, "onevm", "hold", vm, auth=bob_session)
    assert vm_state(cloud, int(vm))[0] == "HOLD"
    one(cloud, "onevm", "release", vm, auth=bob_session)
    one(cloud, "onehost", "create", "node1", "-i", "dummy", "-v", "dummy")
    wait_for(lambda: vm_state(cloud, int(vm)) == ("ACTIVE", "RUNNING"), what="bob's VM RUNNING")
    assert vm_host(cloud, int(vm)) == ("3", "node1")
    one(cloud, "onevm", "terminate", vm, auth=bob_session)
    wait_for(lambda: one(cloud, "onevm", "list", auth=bob_session) == [], what="bob's VM gone")


def test_vnet_ranges_leases_and_reservations(cloud: Cloud, tmp_path: Path) -> None:
    """Address ranges, a held lease, a reservation by a plain user, rename/update/chown, delete."""
    bob = str(one(cloud, "oneuser", "create", "bob", "secret")["id"])
    bob_session = session(tmp_path, "bob:secret")
    (tmp_path / "lan.net").write_text('NAME = "lan"\nAR = [ TYPE = "IP4", IP = "10.3.0.1", SIZE = "8" ]\n')
    (tmp_path / "ar").write_text('AR = [ TYPE = "IP4", IP = "10.4.0.1", SIZE = "4" ]\n')
    (tmp_path / "desc").write_text('DESCRIPTION = "office floor"\n')
    net = str(one(cloud, "onevnet", "create", str(tmp_path / "lan.net"))["id"])
    one(cloud, "onevnet", "addar", net, str(tmp_path / "ar"))
    assert "-501" in refused(cloud, "onevnet", "updatear", net, "1", str(tmp_path / "ar"))  # AR id sent apart
    assert "Parse error" in refused(cloud, "onevnet", "hold", net, "10.3.0.5")  # a bare IP, as on oned
    one(cloud, "onevnet", "hold", net, 'LEASES = [ IP = "10.3.0.5" ]')
    shown = one(cloud, "onevnet", "show", net)
    assert (shown["type"], shown["bridge"]) == ("dummy", "onebr0")  # VN_MAD, and TEMPLATE/BRIDGE as oned has it
    ars = shown["reservations"]
    assert [(ar["AR_ID"], ar["IP"], ar["SIZE"]) for ar in ars] == [("0", "10.3.0.1", 8), ("1", "10.4.0.1", 4)]
    assert [(lease["IP"], lease["VM"]) for lease in ars[0]["LEASES"]["LEASE"]] == [("10.3.0.5", -1)]
    one(cloud, "onevnet", "release", net, 'LEASES = [ IP = "10.3.0.5" ]')
    one(cloud, "onevnet", "rmar", net, "1")
    assert "Not authorized to perform USE NET" in refused(cloud, "onevnet", "reserve", net, "--size", "2",
                                                          auth=bob_session)
    one(cloud, "onevnet", "chown", net, bob, "1")
    one(cloud, "onevnet", "reserve", net, "--size", "2", "--name", "mine", auth=bob_session)
    one(cloud, "onevnet", "rename", net, "office", auth=bob_session)
    one(cloud, "onevnet", "update", net, str(tmp_path / "desc"), "--append", auth=bob_session)
    listed = {found["name"]: found["id"] for found in one(cloud, "onevnet", "list", auth=bob_session)}
    assert sorted(listed) == ["mine", "office"]  # the CLI acks a reservation with the parent's id
    shown = one(cloud, "onevnet", "--full", "show", net)
    assert (shown["NAME"], shown["UNAME"], shown["GNAME"]) == ("office", "bob", "users")
    assert shown["TEMPLATE"] == {"BRIDGE": "onebr0", "DESCRIPTION": "office floor", "VN_MAD": "dummy"}  # no stale NAME
    [ar] = shown["AR_POOL"]["AR"]
    assert [(lease["IP"], lease["VNET"]) for lease in ar["LEASES"]["LEASE"]] == [("10.3.0.1", listed["mine"]),
                                                                                 ("10.3.0.2", listed["mine"])]
    assert f"Reservation {listed['mine']} still holds addresses" in refused(cloud, "onevnet", "delete", net)
    one(cloud, "onevnet", "delete", str(listed["mine"]), auth=bob_session)
    one(cloud, "onevnet", "delete", net, auth=bob_session)
    assert one(cloud, "onevnet", "list") == []


def test_templates(cloud: Cloud, tmp_path: Path) -> None:
    """Create, clone, rename, update, chown, lock; instantiate by the new owner; delete (the VMs stay)."""
    bob = str(one(cloud, "oneuser", "create", "bob", "secret")["id"])
    bob_session = session(tmp_path, "bob:secret")
    one(cloud, "onehost", "create", "node1", "-i", "dummy", "-v", "dummy")
    (tmp_path / "web.tmpl").write_text('NAME = "web"\nCPU = 0.5\nMEMORY = 64\n')
    (tmp_path / "small").write_text("MEMORY = 32\n")
    template = str(one(cloud, "onetemplate", "create", str(tmp_path / "web.tmpl"))["id"])
    assert [t["name"] for t in one(cloud, "onetemplate", "list")] == ["web"]
    clone = str(one(cloud, "onetemplate", "clone", template, "web-copy")["id"])
    one(cloud, "onetemplate", "rename", clone, "web-small")
    one(cloud, "onetemplate", "update", clone, str(tmp_path / "small"), "--append")
    one(cloud, "onetemplate", "chown", clone, bob, "1")
    one(cloud, "onetemplate", "lock", clone)  # no level flag: the CLI sends 4 (all), which oned stores as 1 (use)
    assert "template is locked" in refused(cloud, "onetemplate", "delete", clone, auth=bob_session)
    shown = one(cloud, "onetemplate", "--full", "show", clone)
    assert (shown["NAME"], shown["UNAME"], shown["LOCK"]["LOCKED"]) == ("web-small", "bob", 1)
    assert shown["TEMPLATE"] == {"CPU": "0.5", "MEMORY": "32"}  # NAME is the element only, as in oned
    one(cloud, "onetemplate", "unlock", clone)
    assert [t["name"] for t in one(cloud, "onetemplate", "list", auth=bob_session)] == ["web-small"]
    assert "Not authorized to perform USE TEMPLATE" in refused(cloud, "onetemplate", "instantiate", template,
                                                              auth=bob_session)

    mine = one(cloud, "onetemplate", "instantiate", clone, "--name", "small-vm", auth=bob_session)["id"]
    one(cloud, "onetemplate", "instantiate", template)
    wait_for(lambda: [vm["lcm_state"] for vm in one(cloud, "onevm", "list")] == ["RUNNING"] * 2,
             what="instantiated VMs")
    listed = one(cloud, "onevm", "list")
    assert listed[0]["name"].startswith("web-")  # the template's name and the VM id
    assert [(vm["id"], vm["name"], vm["template"]["MEMORY"], vm["template"]["TEMPLATE_ID"]) for vm in listed[1:]] \
        == [(mine, "small-vm", "32", clone)]
    one(cloud, "onetemplate", "delete", clone, auth=bob_session)
    one(cloud, "onetemplate", "delete", template)
    assert one(cloud, "onetemplate", "list") == []
    assert len(one(cloud, "onevm", "list")) == 2  # the VMs stay
