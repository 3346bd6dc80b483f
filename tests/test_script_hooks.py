"""Script hooks through the API (``one.hook.*``, ``one.hookpool.info``, ``one.hooklog.info``) on a real
daemon: commands run when VMs and hosts change state or after API calls, logged as oned logs them."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import xmlrpc.client
from pathlib import Path
from typing import Any

import pyone
import pytest
from helpers import wait_for

from nebula_core.daemon import Cloud

VM = 'NAME = "web" CPU = 0.1 MEMORY = 32'
BIN = Path(shutil.which("nebula") or Path(sys.executable).with_name("nebula")).parent


def script(tmp_path: Path, name: str, code: int = 0) -> tuple[Path, Path]:
    """A command that appends its arguments, one line per run, to a file; prints hello; exits ``code``."""
    out = tmp_path / f"{name}.out"
    command = tmp_path / f"{name}.sh"
    command.write_text(f'#!/bin/sh\necho "$@" >> "{out}"\necho hello-stdout\nexit {code}\n')
    command.chmod(0o755)
    return command, out


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def state_hook(name: str, command: Path, resource: str = "VM", on: str = "RUNNING",
               arguments: str = "$ID $TEMPLATE $NAME") -> str:
    return (f'NAME = "{name}" TYPE = "state" RESOURCE = "{resource}" ON = "{on}" COMMAND = "{command}" '
            f'ARGUMENTS = "{arguments}"')


def running(one: Any, vm_id: int) -> bool:
    vm = one.vm.info(vm_id)
    return (vm.STATE, vm.LCM_STATE) == (3, 3)


def records(one: Any, hook_id: int) -> list[Any]:
    log = one.hook.info(hook_id).HOOKLOG
    return list(log.HOOK_EXECUTION_RECORD) if log is not None else []


def hooklog(cloud: Cloud, session: str, min_ts: int, max_ts: int, hook_id: int, rc: int) -> list[tuple[int, int, str]]:
    """one.hooklog.info as (HOOK_ID, EXECUTION_ID, CODE), read from the XML (pyone has no class for its root)."""
    ok, body, *_ = xmlrpc.client.ServerProxy(cloud.api.endpoint).one.hooklog.info(session, min_ts, max_ts, hook_id, rc)
    assert ok, body
    root = ET.fromstring(body)
    assert root.tag == "HOOKLOG"
    return [(int(r.findtext("HOOK_ID") or -1), int(r.findtext("EXECUTION_ID") or -1),
             r.findtext("EXECUTION_RESULT/CODE") or "") for r in root.iterfind("HOOK_EXECUTION_RECORD")]


def test_state_hook_runs_and_is_logged(one: Any, cloud: Cloud, admin_session: str, tmp_path: Path) -> None:
    command, out = script(tmp_path, "running")
    hook_id = one.hook.allocate(state_hook("on-running", command))
    assert hook_id == 0
    stored = one.hook.info(hook_id)
    assert (stored.NAME, stored.TYPE) == ("on-running", "state")
    assert stored.TEMPLATE["STATE"] == "ACTIVE" and stored.TEMPLATE["LCM_STATE"] == "RUNNING"
    assert stored.TEMPLATE["REMOTE"] == "NO" and "ON" not in stored.TEMPLATE
    one.host.allocate("node1", "dummy", "dummy", -1)
    vm_id = one.vm.allocate(VM)
    wait_for(lambda: running(one, vm_id), what="RUNNING")
    line = wait_for(lambda: lines(out), what="the hook's run")[0].split()
    assert line[0] == str(vm_id) and line[2] == "web"
    document = base64.b64decode(line[1], validate=True).decode()
    assert document.startswith(f"<VM><ID>{vm_id}</ID>")
    [record] = wait_for(lambda: records(one, hook_id), what="the record")
    assert (record.HOOK_ID, record.EXECUTION_ID) == (hook_id, 0)
    assert str(record.EXECUTION_RESULT.CODE) == "0" and record.RETRY is None
    assert base64.b64decode(record.EXECUTION_RESULT.STDOUT) == b"hello-stdout\n"
    assert record.EXECUTION_RESULT.COMMAND.startswith(f"{command} {vm_id} ")

    assert one.hook.retry(hook_id, 0) == hook_id
    retried = wait_for(lambda: records(one, hook_id)[1:], what="the retry's record")[0]
    assert retried.EXECUTION_ID == 1 and retried.RETRY == "yes" and str(retried.EXECUTION_RESULT.CODE) == "0"
    assert lines(out)[1] == lines(out)[0]
    with pytest.raises(pyone.OneInternalException, match="Invalid HookLog body. Arguments not found."):
        one.hook.retry(hook_id, 9)
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting hook \[9\]"):
        one.hook.retry(9, 0)

    # deleted: its log goes, and it runs no more (a second hook on the same event shows it was heard)
    other, other_out = script(tmp_path, "other")
    one.hook.allocate(state_hook("other", other, arguments="$ID"))
    one.hook.delete(hook_id)
    with pytest.raises(pyone.OneNoExistsException, match=r"Error getting hook \[0\]"):
        one.hook.info(hook_id)
    assert hooklog(cloud, admin_session, -1, -1, hook_id, 0) == []
    second = one.vm.allocate(VM)
    wait_for(lambda: lines(other_out) == [str(second)], what="the other hook's run")
    assert len(lines(out)) == 2


def test_failures_and_hooklog(one: Any, cloud: Cloud, admin_session: str, tmp_path: Path) -> None:
    good, good_out = script(tmp_path, "good")
    bad, bad_out = script(tmp_path, "bad", code=3)
    good_id = one.hook.allocate(state_hook("good", good, arguments="$ID"))
    bad_id = one.hook.allocate(state_hook("bad", bad, arguments="$ID"))
    one.host.allocate("node1", "dummy", "dummy", -1)
    vm_id = one.vm.allocate(VM)
    wait_for(lambda: lines(good_out) and lines(bad_out), what="both hooks' runs")
    [record] = wait_for(lambda: records(one, bad_id), what="the failed run's record")
    assert str(record.EXECUTION_RESULT.CODE) == "3"
    wait_for(lambda: records(one, good_id), what="the good run's record")

    def log(hook_id: int, rc: int, min_ts: int = -1, max_ts: int = -1) -> list[tuple[int, str]]:
        return [(found, code) for found, _, code in hooklog(cloud, admin_session, min_ts, max_ts, hook_id, rc)]

    assert log(-1, -1) == [(bad_id, "3")]
    assert log(-1, 1) == [(good_id, "0")]
    assert sorted(log(-1, 0)) == [(good_id, "0"), (bad_id, "3")]
    assert log(good_id, 0) == [(good_id, "0")]
    assert log(-1, 0, max_ts=0) == []  # nothing is older than 0
    stamp = records(one, bad_id)[0].TIMESTAMP
    assert (bad_id, "3") in log(-1, 0, max_ts=stamp + 1) and log(-1, 0, min_ts=stamp + 1) == []
    assert str(vm_id) in lines(good_out)

    # the pool: ID descending, no log
    pool = one.hookpool.info(-2, -1, -1).HOOK
    assert [h.ID for h in pool] == [bad_id, good_id] and all(h.HOOKLOG is None for h in pool)


def test_host_hook_on_error(one: Any, tmp_path: Path) -> None:
    command, out = script(tmp_path, "host")
    one.hook.allocate(state_hook("host-error", command, resource="HOST", on="ERROR", arguments="$ID $TEMPLATE"))
    host_id = one.host.allocate("node1", "dummy", "dummy", -1)
    wait_for(lambda: one.host.info(host_id).STATE == 2, what="host MONITORED")
    one.host.update(host_id, 'DUMMY_FAIL = "probe"', 1)
    line = wait_for(lambda: lines(out), what="the host hook's run")[0].split()
    assert line[0] == str(host_id)
    assert base64.b64decode(line[1]).decode().startswith(f"<HOST><ID>{host_id}</ID>")


def test_api_hook(one: Any, tmp_path: Path) -> None:
    command, out = script(tmp_path, "api")
    one.hook.allocate(f'NAME = "api" TYPE = "api" CALL = "one.vm.allocate" COMMAND = "{command}" ARGUMENTS = "$API"')
    vm_id = one.vm.allocate(VM, False)
    [line] = wait_for(lambda: lines(out), what="the API hook's run")
    info = ET.fromstring(base64.b64decode(line, validate=True).decode())
    assert (info.findtext("RESULT"), info.findtext("METHOD")) == ("1", "one.vm.allocate")
    given = [(p.findtext("TYPE"), p.findtext("POSITION"), p.findtext("VALUE")) for p in info.iter("PARAMETER")]
    assert given == [("IN", "1", "****"), ("IN", "2", VM), ("IN", "3", "0"),  # the session masked, hold as 0/1
                     ("OUT", "1", "true"), ("OUT", "2", str(vm_id)), ("OUT", "3", "0")]
    assert info.findtext("EXTRA/VM/ID") == str(vm_id)  # the VM the call made, as one.vm.info shows it

    one.hook.allocate(f'NAME = "pw" TYPE = "api" CALL = "one.user.allocate" COMMAND = "{command}" ARGUMENTS = "$API"')
    one.user.allocate("carol", "s3cret", "", [])
    wait_for(lambda: len(lines(out)) == 2, what="the second API hook's run")
    shown = base64.b64decode(lines(out)[1]).decode()
    assert "s3cret" not in shown and "<VALUE>carol</VALUE>" in shown  # passwords never reach hooks


@pytest.mark.parametrize(("template", "message"), [
    ('TYPE = "state" RESOURCE = "VM" ON = "RUNNING" COMMAND = "/bin/true"', "Invalid name."),
    ('NAME = "h" TYPE = "sometimes" COMMAND = "/bin/true"', "Invalid Hook type: sometimes"),
    ('NAME = "h" TYPE = "state" RESOURCE = "VM" ON = "RUNNING"', "No COMMAND in template for Hook."),
    ('NAME = "h" TYPE = "state" RESOURCE = "CLUSTER" ON = "RUNNING" COMMAND = "/bin/true"',
     "Invalid resource type: CLUSTER"),
    ('NAME = "h" TYPE = "state" RESOURCE = "VM" ON = "DANCING" COMMAND = "/bin/true"', "Unkown state condition: DANCING"),
    ('NAME = "h" TYPE = "state" RESOURCE = "VM" ON = "RUNNING" COMMAND = "/bin/true" REMOTE = "maybe"',
     "REMOTE must be YES or NO, not maybe"),
    ('NAME = "h" TYPE = "api" CALL = "vm.allocate" COMMAND = "/bin/true"',
     "API call does not exist or is not supported: vm.allocate"),
])
def test_invalid_templates(one: Any, template: str, message: str) -> None:
    with pytest.raises(pyone.OneInternalException) as refused:
        one.hook.allocate(template)
    assert message in str(refused.value)
    assert one.hookpool.info(-2, -1, -1).HOOK == []


def test_update_rename_lock(one: Any) -> None:
    hook_id = one.hook.allocate('NAME = "h" TYPE = "state" RESOURCE = "VM" ON = "RUNNING" COMMAND = "/bin/true"')
    one.hook.update(hook_id, 'ON = "DONE"', 1)
    stored = one.hook.info(hook_id).TEMPLATE
    assert (stored["STATE"], stored["LCM_STATE"]) == ("DONE", "LCM_INIT")
    with pytest.raises(pyone.OneInternalException, match="The STATE attribute is not defined or it's invalid."):
        one.hook.update(hook_id, 'TYPE = "state" RESOURCE = "VM" ON = "RUNNING" COMMAND = "/bin/true"', 0)
    with pytest.raises(pyone.OneInternalException, match="Invalid resource type"):  # oned's bug, refused here
        one.hook.update(hook_id, 'TYPE = "state" STATE = "ACTIVE" LCM_STATE = "RUNNING" COMMAND = "/bin/true"', 0)
    one.hook.update(hook_id, 'RESOURCE = "VM" STATE = "ACTIVE" LCM_STATE = "RUNNING" COMMAND = "/bin/false"', 0)
    hook = one.hook.info(hook_id)
    assert hook.TYPE == "state" and hook.TEMPLATE["COMMAND"] == "/bin/false" and hook.NAME == "h"
    one.hook.rename(hook_id, "renamed")
    assert one.hook.info(hook_id).NAME == "renamed"
    one.hook.lock(hook_id, 4, False)
    assert one.hook.info(hook_id).LOCK.LOCKED == 1
    with pytest.raises(pyone.OneAuthorizationException, match="HOOK is locked"):
        one.hook.delete(hook_id)
    one.hook.unlock(hook_id)
    assert one.hook.info(hook_id).LOCK is None
    one.hook.delete(hook_id)


def test_plain_user(one: Any, cloud: Cloud) -> None:
    hook_id = one.hook.allocate('NAME = "h" TYPE = "api" CALL = "one.vm.info" COMMAND = "/bin/true"')
    one.user.allocate("alice", "secret", "", [])
    alice = pyone.OneServer(cloud.api.endpoint, session="alice:secret")
    with pytest.raises(pyone.OneAuthorizationException, match="Not authorized to perform CREATE HOOK"):
        alice.hook.allocate('NAME = "h2" TYPE = "api" CALL = "one.vm.info" COMMAND = "/bin/true"')
    with pytest.raises(pyone.OneAuthorizationException, match=rf"Not authorized to perform USE HOOK \[{hook_id}\]"):
        alice.hook.info(hook_id)
    ok, message, code, *_ = xmlrpc.client.ServerProxy(cloud.api.endpoint).one.hooklog.info("alice:secret", -1, -1, -1, 0)
    assert (ok, code) == (False, 0x200), message
    with pytest.raises(pyone.OneAuthorizationException):
        alice.hook.delete(hook_id)
    assert alice.hookpool.info(-2, -1, -1).HOOK == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli(cloud: Cloud, one: Any, tmp_path: Path) -> None:
    env = dict(os.environ, ONE_AUTH=str(cloud.config.one_auth_path), ONE_XMLRPC=cloud.api.endpoint)

    def nebula(*args: str, ok: bool = True) -> str:
        done = subprocess.run([str(BIN / "nebula"), "hook", *args], check=False, env=env, capture_output=True, text=True,
                              timeout=60)
        assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
        return done.stdout if ok else done.stderr

    command, out = script(tmp_path, "cli")
    source = tmp_path / "hook.tmpl"
    source.write_text(state_hook("from-cli", command, arguments="$ID") + "\n")
    assert nebula("create", str(source)).strip() == "ID: 0"
    assert nebula("list").splitlines()[1].split() == ["0", "from-cli", "state"]
    one.host.allocate("node1", "dummy", "dummy", -1)
    vm_id = one.vm.allocate(VM)
    wait_for(lambda: lines(out) == [str(vm_id)], what="the hook's run")
    shown = wait_for(lambda: "EXECUTION LOG" in (text := nebula("show", "0")) and text, what="the log in show")
    assert 'LCM_STATE = "RUNNING"' in shown
    row = shown.split("EXECUTION LOG\n", 1)[1].splitlines()[1].split()
    assert row[0] == "0" and row[3:5] == ["0", "no"] and row[5] == str(command)
    nebula("retry", "0", "0")  # runs in the background: its record comes a moment later
    wait_for(lambda: len(nebula("log", "--hook", "0", "--succeeded").splitlines()) == 3, what="the retry's record")
    assert len(nebula("log", "--failed").splitlines()) == 1  # the header alone
    nebula("delete", "0")
    assert "Error getting hook [0]" in nebula("show", "0", ok=False)


def test_hooks_of_the_configuration_file(tmp_path: Path, database_url: str) -> None:
    """[[hooks.vm]] and [[hooks.host]] become hook objects that run and log as any other; a restart with
    another configuration updates them in place and drops those no longer defined; a wrong one stops start-up."""
    from conftest import make_config

    from nebula_core.config import ConfigError

    command, out = script(tmp_path, "from-file")
    vm_hook = {"name": "announce", "on": "RUNNING", "command": str(command), "arguments": "$VMID $NAME"}
    host_hook = {"name": "page", "on": "ERROR", "command": str(command), "arguments": "$HID", "timeout": 5}
    cloud = Cloud(make_config(tmp_path, database_url, hooks={"vm": [vm_hook], "host": [host_hook]}))
    cloud.start()
    try:
        one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
        hooks = {h.NAME: h for h in one.hookpool.info(-2, -1, -1).HOOK}
        assert set(hooks) == {"announce", "page"}
        assert (hooks["page"].TEMPLATE["STATE"], hooks["page"].TEMPLATE["FROM_CONFIG"]) == ("ERROR", "YES")
        one.host.allocate("node1", "dummy", "dummy", -1)
        vm_id = one.vm.allocate(VM)
        wait_for(lambda: lines(out) == [f"{vm_id} web"], what="the file's VM hook")
        announce = hooks["announce"].ID
    finally:
        cloud.stop()

    cloud = Cloud(make_config(tmp_path, database_url, hooks={"vm": [dict(vm_hook, arguments="$VMID")]}))
    cloud.start()
    try:
        one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
        [kept] = one.hookpool.info(-2, -1, -1).HOOK
        assert (kept.ID, kept.TEMPLATE["ARGUMENTS"]) == (announce, "$VMID")  # updated in place
        assert len(records(one, announce)) == 1  # its log stays
    finally:
        cloud.stop()

    with pytest.raises(ConfigError, match=r"hooks.vm\[0\]: Unkown state condition: DANCING"):
        Cloud(make_config(tmp_path, database_url, hooks={"vm": [dict(vm_hook, on="DANCING")]}))


def test_remote_hooks_run_over_ssh_with_every_argument_quoted(tmp_path: Path, database_url: str, sshd: str) -> None:
    """REMOTE = YES runs the command on the VM's host over SSH (a real sshd here); a name full of shell
    syntax arrives as one argument and runs nothing on the remote side."""
    from conftest import make_config

    command, out = script(tmp_path, "remote")
    cloud = Cloud(make_config(tmp_path, database_url, hooks={"ssh": sshd}))
    cloud.start()
    try:
        one = pyone.OneServer(cloud.api.endpoint, session=Path(cloud.config.one_auth_path).read_text().strip())
        hook_id = one.hook.allocate(state_hook("remote", command, arguments="$NAME $ID") + ' REMOTE = "yes"')
        one.host.allocate("127.0.0.1", "dummy", "dummy", -1)  # the host's name is where ssh goes
        canary = Path(f"/tmp/nb-{os.getpid()}")  # short: a VM name is at most 128 characters
        vm_id = one.vm.allocate(f'NAME = "a b;touch {canary};$(touch {canary})" CPU = 0.1 MEMORY = 32')
        wait_for(lambda: lines(out), what="the remote hook's run")
        assert lines(out) == [f"a b;touch {canary};$(touch {canary}) {vm_id}"]
        assert not canary.exists() and not (Path.home() / canary.name).exists()
        [record] = wait_for(lambda: records(one, hook_id), what="the run's record")  # written once ssh returns
        assert (record.EXECUTION_RESULT.CODE, record.REMOTE_HOST) == ("0", "127.0.0.1")
    finally:
        cloud.stop()


def test_the_example_hook_scripts(one: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """contrib/hooks' scripts run as their headers say, on the events they name."""
    monkeypatch.setenv("NEBULA_HOOK_LOG", str(tmp_path / "hooks.log"))  # the daemon runs in this process
    scripts = Path(__file__).parents[1] / "contrib" / "hooks"
    one.hook.allocate(state_hook("notify", scripts / "vm-running-notify.sh", arguments="$ID $TEMPLATE"))
    one.hook.allocate(state_hook("page", scripts / "host-error-page.sh", resource="HOST", on="ERROR",
                                 arguments="$HID $NAME $PREV_STATE"))
    host_id = one.host.allocate("node1", "dummy", "dummy", -1)
    vnet_id = one.vn.allocate('NAME = "lan" AR = [ TYPE = "IP4", IP = "10.0.0.1", SIZE = "4" ]', -1)
    vm_id = one.vm.allocate(VM + f' NIC = [ NETWORK_ID = "{vnet_id}" ]')
    wait_for(lambda: any(f"VM {vm_id} (web) RUNNING at 10.0.0.1" in line for line in lines(tmp_path / "hooks.log")),
             what="the RUNNING note")
    one.host.update(host_id, 'DUMMY_FAIL = "probe"', 1)
    wait_for(lambda: any(f"host node1 ({host_id}) is in ERROR (was MONITORED)" in line for line in lines(tmp_path / "hooks.log")),
             what="the page")
