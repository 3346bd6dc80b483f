"""The script-hook runner on its own: templates checked as oned checks them, arguments never seen by a shell,
runs bounded in time and logged, the log trimmed, retries."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from nebula_core.db import Database, Hook, HookExecution
from nebula_core.errors import InternalError
from nebula_core.hooks.events import VMStateChanged
from nebula_core.hooks.scripts import ScriptHooks, checked_template
from nebula_core.template import parse

VM_XML = "<VM><ID>7</ID><NAME>web-7</NAME><TEMPLATE><MEMORY>64</MEMORY></TEMPLATE><USER_TEMPLATE><ROLE>db</ROLE></USER_TEMPLATE></VM>"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/n.db")
    database.migrate()
    return database


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "hook.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def add_hook(db: Database, text: str) -> int:
    template = parse(text)
    name, kind = checked_template(template)
    with db.write() as session:
        hook = Hook(id=db.next_id(session, "hook"), name=name, type=kind, template=template.to_json())
        session.add(hook)
        session.flush()
        return hook.id


def log_of(db: Database, hook_id: int) -> list[HookExecution]:
    with db.read() as session:
        return list(session.query(HookExecution).filter_by(hook_id=hook_id).order_by(HookExecution.execution_id))


@pytest.mark.parametrize(("text", "message"), [
    ('TYPE = state RESOURCE = VM ON = RUNNING COMMAND = "/bin/true"', "Invalid name."),
    ('NAME = x TYPE = cron COMMAND = "/bin/true"', "Invalid Hook type: cron"),
    ('NAME = x TYPE = state RESOURCE = VM ON = RUNNING', "No COMMAND in template for Hook."),
    ('NAME = x TYPE = state RESOURCE = IMAGES ON = READY COMMAND = "/bin/true"', "Invalid resource type: IMAGES"),
    ('NAME = x TYPE = state RESOURCE = VM ON = DANCING COMMAND = "/bin/true"', "Unkown state condition: DANCING"),
    ('NAME = x TYPE = state RESOURCE = VM ON = CUSTOM STATE = ACTIVE LCM_STATE = NAPPING COMMAND = "/bin/true"',
     "Wrong LCM_STATE: NAPPING"),
    ('NAME = x TYPE = api CALL = "one.nosuch.call" COMMAND = "/bin/true"', "API call does not exist or is not supported"),
    ('NAME = x TYPE = state RESOURCE = VM ON = RUNNING COMMAND = "/bin/true" REMOTE = maybe', "REMOTE must be YES or NO"),
])
def test_bad_hook_templates_are_refused(text: str, message: str) -> None:
    with pytest.raises(InternalError, match=message.replace(".", r"\.")):
        checked_template(parse(text))


@pytest.mark.parametrize(("on", "state", "lcm"), [
    ("RUNNING", "ACTIVE", "RUNNING"), ("SHUTDOWN", "ACTIVE", "EPILOG"), ("STOP", "STOPPED", "LCM_INIT"),
    ("DONE", "DONE", "LCM_INIT"), ("CREATE", "CREATE", ""), ("POWEROFF", "POWEROFF", "LCM_INIT"),
    ("BOOT_FAILURE", "ACTIVE", "BOOT_FAILURE"), ("FAILED", "ACTIVE", "FAILURE"),
])
def test_on_is_stored_as_state_and_lcm_state(on: str, state: str, lcm: str) -> None:
    template = parse(f'NAME = x TYPE = STATE RESOURCE = vm ON = {on} COMMAND = "/bin/true"')
    assert checked_template(template) == ("x", "state")
    assert (template.get_str("STATE"), template.get_str("LCM_STATE"), template.get_str("ON")) == (state, lcm, None)
    assert (template.get_str("REMOTE"), template.get_str("RESOURCE")) == ("NO", "VM")


def test_arguments_reach_the_command_as_they_are(db: Database, tmp_path: Path) -> None:
    """Each token is one argv entry: a value holding shell syntax stays text, $TEMPLATE is the object's XML."""
    out = tmp_path / "args"
    command = script(tmp_path, f'for a in "$@"; do printf "%s\\n" "$a" >> {out}; done\necho ran; echo oops >&2\n')
    hook_id = add_hook(db, f'NAME = h TYPE = state RESOURCE = VM ON = RUNNING COMMAND = "{command}" '
                           'ARGUMENTS = "$ID $TEMPLATE $NAME $ROLE $MEMORY $PREV_LCM_STATE $(reboot) ;rm"')
    hooks = ScriptHooks(db, {"VM": lambda vm_id: VM_XML}, timeout=5)
    hooks.vm_state_changed(VMStateChanged(7, "ACTIVE", "BOOT", "ACTIVE", "RUNNING", "driver:deploy"))
    hooks.vm_state_changed(VMStateChanged(7, "ACTIVE", "RUNNING", "ACTIVE", "SHUTDOWN", "api"))  # no hook for it
    lines = out.read_text().splitlines()
    assert lines[0] == "7" and base64.b64decode(lines[1]).decode() == VM_XML
    assert lines[2:] == ["web-7", "db", "64", "BOOT", "$(reboot)", ";rm"]
    [run] = log_of(db, hook_id)
    assert (run.execution_id, run.code, run.retry) == (0, 0, False)
    assert base64.b64decode(run.stdout) == b"ran\n" and base64.b64decode(run.stderr) == b"oops\n"
    assert run.command.startswith(f"{command} 7 ")


def test_failures_timeouts_retention_and_retry(db: Database, tmp_path: Path) -> None:
    command = script(tmp_path, 'if [ "$1" = slow ]; then sleep 5; fi\nexit 3\n')
    hook_id = add_hook(db, f'NAME = h TYPE = state RESOURCE = VM ON = RUNNING COMMAND = "{command}" ARGUMENTS = "$WHAT" TIMEOUT = 0.5')
    hooks = ScriptHooks(db, {"VM": lambda vm_id: "<VM><ID>1</ID><TEMPLATE><WHAT>fast</WHAT></TEMPLATE></VM>"}, timeout=5, retention=3)
    running = VMStateChanged(1, "ACTIVE", "BOOT", "ACTIVE", "RUNNING", "driver:deploy")
    for _ in range(4):
        hooks.vm_state_changed(running)
    assert [(r.execution_id, r.code) for r in log_of(db, hook_id)] == [(1, 3), (2, 3), (3, 3)]  # the oldest dropped
    hooks.retry(hook_id, 2).join(timeout=10)
    again = log_of(db, hook_id)[-1]
    assert (again.execution_id, again.retry, again.arguments, again.argv) == (4, True, "fast", '["fast"]')
    with pytest.raises(InternalError, match="Arguments not found"):
        hooks.retry(hook_id, 0)

    slow = ScriptHooks(db, {"VM": lambda vm_id: "<VM><ID>1</ID><TEMPLATE><WHAT>slow</WHAT></TEMPLATE></VM>"}, timeout=5)
    slow.vm_state_changed(running)
    last = log_of(db, hook_id)[-1]
    assert last.code == -1 and b"timed out after 0.5s" in base64.b64decode(last.stderr)

    missing = add_hook(db, 'NAME = m TYPE = state RESOURCE = VM ON = RUNNING COMMAND = "/nonexistent/cmd"')
    hooks.changed()
    hooks.vm_state_changed(running)
    [gone] = log_of(db, missing)
    assert gone.code == -1 and b"cannot run /nonexistent/cmd" in base64.b64decode(gone.stderr)


def test_a_template_hook_matches_by_state(db: Database) -> None:
    hooks = ScriptHooks(db, {"VM": lambda vm_id: "<VM/>"}, timeout=5)
    assert not hooks.changed()  # no hook yet: the daemon keeps the plugin out
    hook_id = add_hook(db, 'NAME = f TYPE = state RESOURCE = VM ON = FAILED COMMAND = "/bin/true"')
    assert hooks.changed()
    hooks.vm_state_changed(VMStateChanged(2, "ACTIVE", "BOOT", "ACTIVE", "BOOT_FAILURE", "driver:deploy"))
    hooks.vm_state_changed(VMStateChanged(2, "ACTIVE", "BOOT", "ACTIVE", "RUNNING", "driver:deploy"))
    assert [r.code for r in log_of(db, hook_id)] == [0]


def test_a_hook_printing_megabytes_is_cut(db: Database, tmp_path: Path) -> None:
    """The log keeps the first 64 KiB of each stream and says how much more there was."""
    command = script(tmp_path, "yes x | head -c 5000000\nyes e | head -c 100 >&2\n")
    hook_id = add_hook(db, f'NAME = h TYPE = state RESOURCE = VM ON = RUNNING COMMAND = "{command}"')
    ScriptHooks(db, {"VM": lambda vm_id: "<VM/>"}, timeout=20).vm_state_changed(
        VMStateChanged(1, "ACTIVE", "BOOT", "ACTIVE", "RUNNING", "driver:deploy"))
    [run] = log_of(db, hook_id)
    out = base64.b64decode(run.stdout)
    assert run.code == 0 and out.startswith(b"x\n" * 32768) and out.endswith(b"[... 4934464 more bytes not kept]\n")
    assert base64.b64decode(run.stderr) == b"e\n" * 50
