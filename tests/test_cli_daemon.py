"""The installed ``nebula`` and ``one*`` commands against a real daemon, as an admin types them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nebula_core.daemon import Cloud

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BIN = Path(shutil.which("nebula") or Path(sys.executable).with_name("nebula")).parent


def cli(cloud: Cloud, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ONE_AUTH=str(cloud.config.one_auth_path), ONE_XMLRPC=cloud.api.endpoint)
    done = subprocess.run([str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
    return done


def test_daily_workflow(cloud: Cloud, tmp_path: Path) -> None:
    assert cli(cloud, "nebula", "host", "create", "node1", "-i", "dummy", "-v", "dummy").stdout.strip() == "ID: 0"
    net = tmp_path / "lan.net"
    net.write_text('NAME = "lan"\nTYPE = "RANGED"\nNETWORK_ADDRESS = "192.168.7.0"\nNETWORK_SIZE = 10\n')
    assert cli(cloud, "onevnet", "create", str(net)).stdout.strip() == "ID: 0"
    vm = tmp_path / "web.vm"
    vm.write_text('NAME = "web"\nCPU = 1\nMEMORY = 64\nNIC = [ NETWORK = "lan" ]\n')
    assert cli(cloud, "onevm", "create", str(vm)).stdout.strip() == "ID: 0"
    cli(cloud, "nebula", "vm", "wait", "0", "RUNNING", "--timeout", "30")
    listing = cli(cloud, "nebula", "vm", "list").stdout.splitlines()
    assert listing[0].split()[:4] == ["ID", "USER", "NAME", "STAT"]
    assert listing[1].split()[:5] == ["0", "oneadmin", "web", "runn", "node1"] and "192.168.7.1" in listing[1]
    shown = json.loads(cli(cloud, "nebula", "--json", "vm", "show", "0").stdout)
    assert shown["state_name"] == "RUNNING" and shown["ips"] == ["192.168.7.1"]
    cli(cloud, "onevm", "poweroff", "0")
    cli(cloud, "nebula", "vm", "wait", "0", "POWEROFF", "--timeout", "30")
    cli(cloud, "nebula", "vm", "terminate", "0")
    cli(cloud, "nebula", "vm", "wait", "0", "DONE", "--timeout", "30")
    hosts = cli(cloud, "onehost", "list").stdout
    assert "node1" in hosts and "0 / 800" in hosts


def test_errors_are_one_line(cloud: Cloud) -> None:
    done = cli(cloud, "nebula", "vm", "show", "42", ok=False)
    assert done.stderr.strip() == "nebula: [one.vm.info] Error getting virtual machine [42]." and done.stdout == ""
    done = cli(cloud, "nebula", "host", "create", "n1", "-v", "nosuch", ok=False)
    assert len(done.stderr.strip().splitlines()) == 1 and "unknown vmm driver 'nosuch'" in done.stderr
    done = cli(cloud, "nebula", "--auth", "oneadmin:wrong", "vm", "list", ok=False)
    assert "couldn't be authenticated" in done.stderr and "Traceback" not in done.stderr


def test_templates(cloud: Cloud, tmp_path: Path) -> None:
    cli(cloud, "nebula", "host", "create", "node1")
    source = tmp_path / "small.tmpl"
    source.write_text('NAME = "small"\nCPU = 0.5\nMEMORY = 32\n')
    assert cli(cloud, "onetemplate", "create", str(source)).stdout.strip() == "ID: 0"
    assert cli(cloud, "nebula", "template", "list").stdout.splitlines()[1].split()[:3] == ["0", "oneadmin", "small"]
    assert "MEMORY = \"32\"" in cli(cloud, "nebula", "template", "show", "0").stdout
    assert cli(cloud, "nebula", "template", "instantiate", "0", "--name", "from-cli").stdout.strip() == "ID: 0"
    cli(cloud, "nebula", "vm", "wait", "0", "RUNNING", "--timeout", "30")
    assert "from-cli" in cli(cloud, "nebula", "vm", "list").stdout
    cli(cloud, "nebula", "template", "delete", "0")
    assert "Error getting virtual machine template [0]" in cli(cloud, "nebula", "template", "show", "0", ok=False).stderr


def test_groups(cloud: Cloud) -> None:
    assert cli(cloud, "onegroup", "create", "devs").stdout.strip() == "ID: 100"
    names = [line.split()[1] for line in cli(cloud, "nebula", "group", "list").stdout.splitlines()[1:]]
    assert names == ["devs", "users", "oneadmin"]
    assert "NAME" in cli(cloud, "nebula", "group", "show", "100").stdout
    cli(cloud, "nebula", "group", "delete", "100")
    assert "Error getting group [100]" in cli(cloud, "nebula", "group", "show", "100", ok=False).stderr


def until(cloud: Cloud, *args: str, shows: str, timeout: float = 15.0) -> str:
    """Run a command until its output holds ``shows`` (monitoring arrives on the probes' schedule)."""
    deadline = time.monotonic() + timeout
    while True:
        out = cli(cloud, *args).stdout
        if shows in out or time.monotonic() > deadline:
            assert shows in out, (args, out)
            return out
        time.sleep(0.3)


def test_hosts_and_vm_sizes(cloud: Cloud, tmp_path: Path) -> None:
    cli(cloud, "nebula", "host", "create", "node1")
    assert "FREE_CPU    : 800" in until(cloud, "nebula", "host", "monitoring", "0", shows="FREE_CPU").splitlines()
    cli(cloud, "onehost", "rename", "0", "rack1-node1")
    (tmp_path / "rack.tmpl").write_text('RACK = "r1"\n')
    (tmp_path / "zone.tmpl").write_text('ZONE = "eu-1"\n')
    cli(cloud, "nebula", "host", "update", "0", str(tmp_path / "rack.tmpl"))
    cli(cloud, "nebula", "host", "update", "0", str(tmp_path / "zone.tmpl"), "--append")
    shown = cli(cloud, "nebula", "host", "show", "0").stdout
    assert "NAME          : rack1-node1" in shown.splitlines()
    assert 'RACK = "r1"' in shown and 'ZONE = "eu-1"' in shown  # --append merged
    cli(cloud, "nebula", "vm", "create", "--name", "web", "--cpu", "1", "--memory", "64", "--hold")
    cli(cloud, "onevm", "resize", "0", "--cpu", "2", "--vcpu", "2", "--memory", "128")
    vm = json.loads(cli(cloud, "nebula", "--json", "vm", "show", "0").stdout)
    assert (vm["cpu"], vm["memory"], vm["template"]["VCPU"]) == (2.0, 128, "2")
    cli(cloud, "nebula", "vm", "release", "0")
    cli(cloud, "nebula", "vm", "wait", "0", "RUNNING", "--timeout", "30")
    assert cli(cloud, "nebula", "vm", "list").stdout.splitlines()[1].split()[3:6] == ["runn", "rack1-node1", "2"]
    refused = cli(cloud, "nebula", "vm", "resize", "0", "--memory", "256", ok=False).stderr
    assert "not available for state ACTIVE" in refused
    assert "CPU" in until(cloud, "nebula", "vm", "monitoring", "0", shows="NETRX")


def test_permissions_and_locks(cloud: Cloud, tmp_path: Path) -> None:
    cli(cloud, "nebula", "group", "create", "devs")
    cli(cloud, "nebula", "user", "create", "bob", "pw", "--group", "100")
    source = tmp_path / "small.tmpl"
    source.write_text('NAME = "small"\nCPU = 0.5\nMEMORY = 32\n')
    cli(cloud, "onetemplate", "create", str(source))
    bob = ("nebula", "--auth", "bob:pw")
    assert "Not authorized to perform USE TEMPLATE [0]" in cli(cloud, *bob, "template", "show", "0", ok=False).stderr
    cli(cloud, "onetemplate", "chgrp", "0", "100")
    cli(cloud, "onetemplate", "chmod", "0", "640")
    shown = cli(cloud, *bob, "template", "show", "0").stdout
    assert "GROUP         : devs" in shown.splitlines()
    assert "PERMISSIONS\nOWNER : um-\nGROUP : u--\nOTHER : ---" in shown
    assert cli(cloud, *bob, "template", "clone", "0", "mine").stdout.strip() == "ID: 1"
    owners = [line.split()[:3] for line in cli(cloud, *bob, "template", "list").stdout.splitlines()[1:]]
    assert owners == [["1", "bob", "mine"], ["0", "oneadmin", "small"]]
    cli(cloud, "onetemplate", "lock", "0", "--manage")
    assert "LOCK          : MANAGE" in cli(cloud, *bob, "template", "show", "0").stdout.splitlines()  # reads pass
    assert "is locked" in cli(cloud, "nebula", "template", "rename", "0", "big", ok=False).stderr  # admins too
    cli(cloud, "onetemplate", "unlock", "0")
    cli(cloud, "nebula", "vm", "create", "--name", "web", "--cpu", "1", "--memory", "32", "--hold")
    cli(cloud, "onevm", "chown", "0", "2", "100")
    cli(cloud, *bob, "vm", "chmod", "0", "660")
    vm = json.loads(cli(cloud, *bob, "--json", "vm", "show", "0").stdout)
    assert (vm["uname"], vm["gname"], vm["permissions"], vm["lock"]) == ("bob", "devs", "660", 0)
    cli(cloud, *bob, "vm", "lock", "0")
    assert "[one.vm.action] The resource virtual machine is locked. [0]." in cli(
        cloud, "nebula", "vm", "release", "0", ok=False).stderr
    cli(cloud, *bob, "vm", "unlock", "0")
    cli(cloud, "nebula", "vm", "release", "0")


def test_vnet_ranges_holds_and_reservations(cloud: Cloud, tmp_path: Path) -> None:
    net = tmp_path / "lan.net"
    net.write_text('NAME = "lan"\nAR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = 4 ]\n')
    cli(cloud, "onevnet", "create", str(net))
    cli(cloud, "onevnet", "addar", "0", "--ip", "10.0.1.1", "--size", "8")
    cli(cloud, "nebula", "vnet", "hold", "0", "10.0.1.8")
    assert "already in use or on hold" in cli(cloud, "nebula", "vnet", "hold", "0", "10.0.1.8", ok=False).stderr
    shown = cli(cloud, "nebula", "vnet", "show", "0").stdout
    ranges = [line.split() for line in shown.split("ADDRESS RANGES\n")[1].split("\n\n")[0].splitlines()[1:]]
    assert ranges == [["0", "IP4", "10.0.0.1", "10.0.0.4", "02:00:0a:00:00:01", "4", "0"],
                      ["1", "IP4", "10.0.1.1", "10.0.1.8", "02:00:0a:00:01:01", "8", "1"]]
    assert shown.split("LEASES\n")[1].splitlines()[1].split() == ["1", "10.0.1.8", "02:00:0a:00:01:08", "-1"]
    cli(cloud, "nebula", "vnet", "release", "0", "10.0.1.8")
    assert cli(cloud, "onevnet", "reserve", "0", "--name", "mine", "--size", "3", "--ar", "1").stdout.strip() == "ID: 1"
    reservation = cli(cloud, "nebula", "vnet", "show", "1").stdout
    assert "PARENT NETWORK : 0" in reservation.splitlines() and "10.0.1.1  10.0.1.3" in reservation
    assert "in use by VMs or reservations" in cli(cloud, "nebula", "vnet", "rmar", "0", "1", ok=False).stderr
    cli(cloud, "nebula", "vnet", "delete", "1")
    cli(cloud, "nebula", "vnet", "hold", "0", "10.0.1.2")
    assert "on hold" in cli(cloud, "nebula", "vnet", "rmar", "0", "1", ok=False).stderr
    cli(cloud, "nebula", "vnet", "rmar", "0", "1", "--force")
    vnet = json.loads(cli(cloud, "nebula", "--json", "vnet", "show", "0").stdout)
    assert ([ar["ar_id"] for ar in vnet["ranges"]], vnet["size"], vnet["leases"]) == ([0], 4, [])


def test_user_groups_and_tokens(cloud: Cloud) -> None:
    cli(cloud, "onegroup", "create", "devs")
    assert cli(cloud, "oneuser", "create", "bob", "pw").stdout.strip() == "ID: 2"
    refused = cli(cloud, "oneuser", "create", "carol", "pw", "--driver", "nosuch", ok=False).stderr
    assert "unknown auth driver 'nosuch'" in refused and "installed: core" in refused
    cli(cloud, "oneuser", "chgrp", "2", "100")  # bob leaves users (1) for devs (100)
    cli(cloud, "oneuser", "addgroup", "2", "1")
    lines = cli(cloud, "nebula", "user", "show", "2").stdout.splitlines()
    assert "GROUP       : devs" in lines and "GROUPS      : 1,100" in lines
    assert "primary group" in cli(cloud, "oneuser", "delgroup", "2", "100", ok=False).stderr
    cli(cloud, "oneuser", "delgroup", "2", "1")
    assert json.loads(cli(cloud, "nebula", "--json", "user", "show", "2").stdout)["groups"] == [100]
    token = cli(cloud, "nebula", "--auth", "bob:pw", "user", "token-create", "--time", "600").stdout.strip()
    as_token = ("nebula", "--auth", f"bob:{token}")
    assert cli(cloud, *as_token, "user", "show", "-1").stdout.splitlines()[2] == "NAME        : bob"
    tokens = cli(cloud, "nebula", "user", "show", "2").stdout.split("LOGIN TOKENS (SHA-256 DIGEST)\n")[1].splitlines()
    assert tokens[1].split()[:2] == [hashlib.sha256(token.encode()).hexdigest()[:12], "all"]
    cli(cloud, "oneuser", "token-delete", "bob", token)
    assert "couldn't be authenticated" in cli(cloud, *as_token, "vm", "list", ok=False).stderr
    cli(cloud, "oneuser", "disable", "2")
    assert "couldn't be authenticated" in cli(cloud, "nebula", "--auth", "bob:pw", "vm", "list", ok=False).stderr
    cli(cloud, "oneuser", "enable", "2")
    cli(cloud, "nebula", "--auth", "bob:pw", "vm", "list")
