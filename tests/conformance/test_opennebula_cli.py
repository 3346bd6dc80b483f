"""The real opennebula-cli 7.4.0 commands against Nebula, as an admin runs them.

The CLI lives in a venv of its own (``make test`` builds ``.venv-onecli``; ``NEBULA_ONECLI``
names its bin directory). Its quirks against real oned too (HOST column null, host states as
``UNKNOWN_<n>``) are OpenNebula's, not ours: see ../shared/OPENNEBULA.md section 3.10.
"""

from __future__ import annotations

import json
import os
import subprocess
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


def one(cloud: Cloud, command: str, *args: str, ok: bool = True) -> Any:
    """Run an OpenNebula command with ONE_XMLRPC and ONE_AUTH set; its JSON output."""
    env = dict(os.environ, ONE_AUTH=str(cloud.config.one_auth_path), ONE_XMLRPC=cloud.api.endpoint, NO_COLOR="1")
    done = subprocess.run([str(Path(ONECLI, command)), "--output", "json", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode == 0) == ok, (command, args, done.stdout, done.stderr)
    return json.loads(done.stdout) if ok and done.stdout.strip() else done


def vm_state(cloud: Cloud, vm_id: int) -> tuple[str, str]:
    shown = one(cloud, "onevm", "show", str(vm_id))
    return shown["state"], shown["lcm_state"]


def test_daily_workflow(cloud: Cloud, tmp_path: Path) -> None:
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
    one(cloud, "onevm", "terminate", str(vm_id))
    wait_for(lambda: one(cloud, "onevm", "list") == [], what="VM gone from the list")
    one(cloud, "onevnet", "delete", "0")
    one(cloud, "onehost", "delete", "0")
    assert one(cloud, "onehost", "list") == []


def test_users_and_refusals(cloud: Cloud) -> None:
    created = one(cloud, "oneuser", "create", "bob", "secret")  # sends a boolean before the group list
    assert [user["name"] for user in one(cloud, "oneuser", "list")] == ["bob", "oneadmin"]
    assert one(cloud, "oneuser", "show", str(created["id"]))["group"] == "users"
    refused = one(cloud, "onevm", "show", "42", ok=False)
    assert "Error getting virtual machine [42]" in refused.stderr + refused.stdout


def test_templates_and_groups(cloud: Cloud, tmp_path: Path) -> None:
    one(cloud, "onehost", "create", "node1", "-i", "dummy", "-v", "dummy")
    (tmp_path / "web.tmpl").write_text('NAME = "web"\nCPU = 0.5\nMEMORY = 64\n')
    template_id = one(cloud, "onetemplate", "create", str(tmp_path / "web.tmpl"))["id"]
    assert [t["name"] for t in one(cloud, "onetemplate", "list")] == ["web"]
    one(cloud, "onetemplate", "instantiate", str(template_id))
    wait_for(lambda: [vm["lcm_state"] for vm in one(cloud, "onevm", "list")] == ["RUNNING"], what="instantiated VM")
    assert one(cloud, "onevm", "list")[0]["name"].startswith("web-")
    one(cloud, "onegroup", "create", "devs")
    assert sorted(g["name"] for g in one(cloud, "onegroup", "list")) == ["devs", "oneadmin", "users"]
