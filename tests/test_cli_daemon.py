"""The installed ``nebula`` and ``one*`` commands against a real daemon, as an admin types them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
