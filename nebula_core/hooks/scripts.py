"""Script hooks, as OpenNebula admins write them: run a command when an object enters a state, or
after an API call (``one.hook.*`` objects).

The command runs as an argument list, never through a shell: ARGUMENTS is split on blanks and
each token is substituted on its own (``$TEMPLATE``: base64 of the object's XML; ``$API``: base64
of the call's ``<CALL_INFO>``; ``$ID``/``$VMID``/``$HID``: the object's id; ``$PREV_STATE``,
``$PREV_LCM_STATE``; ``$NAME`` or any other ``$ATTRIBUTE`` of the object's template), so no value
can become shell syntax. Each run is limited to ``timeout`` seconds and recorded (command, base64
output, exit code) in the hook's execution log, which keeps the last ``retention`` runs.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import shlex
import subprocess
import tempfile
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import IO
from xml.sax.saxutils import escape

from sqlalchemy import delete, func, select

from ..config import ConfigError, ScriptHookConfig
from ..db import Database, Hook, HookExecution
from ..errors import InternalError, NoExistsError
from ..states import HostState, LCMState, VMState
from ..template import Template
from . import hookimpl
from .events import ApiCallDone, HostCreated, HostStateChanged, VMAllocated, VMStateChanged

log = logging.getLogger(__name__)

RESOURCES = ("VM", "HOST")
# OpenNebula's ON names for VMs -> (STATE, LCM_STATE); CREATE is the allocation itself
VM_ON = {
    "CREATE": ("CREATE", ""), "PROLOG": ("ACTIVE", "PROLOG"), "RUNNING": ("ACTIVE", "RUNNING"),
    "SHUTDOWN": ("ACTIVE", "EPILOG"), "STOP": ("STOPPED", "LCM_INIT"), "DONE": ("DONE", "LCM_INIT"),
    "UNKNOWN": ("ACTIVE", "UNKNOWN"), "FAILED": ("ACTIVE", "FAILURE"),  # any *_FAILURE: 1.4's FAILED
}
VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")  # a whole token: anything else ($(cmd), ${x}) stays as written
Documents = Mapping[str, Callable[[int], str]]
CREATORS = {"one.vm.allocate": "VM", "one.template.instantiate": "VM", "one.host.allocate": "HOST"}  # EXTRA's object  # resource -> the object's XML by id


@dataclass(frozen=True)
class Trigger:
    """What a state hook waits for: a VM or host entering (STATE, LCM_STATE)."""

    resource: str
    state: str
    lcm_state: str

    def matches(self, resource: str, state: str, lcm_state: str) -> bool:
        if resource != self.resource or state != self.state:
            return False
        if self.lcm_state == "FAILURE":
            return lcm_state.endswith("_FAILURE")
        return self.lcm_state in ("", lcm_state)


def checked_template(template: Template, calls: Collection[str] = ()) -> tuple[str, str]:
    """Validate a hook template as oned does and normalise ON into STATE/LCM_STATE; (NAME, TYPE).

    ``calls`` are the API's methods, which an API hook's CALL must name. Refusals are INTERNAL
    (0x2000) with oned's words.
    """
    name = template.get_str("NAME") or ""
    if not name.strip() or len(name) > 128 or "\n" in name:
        raise InternalError("Invalid name.")
    kind = (template.get_str("TYPE") or "").lower()
    if kind not in ("state", "api"):
        raise InternalError(f"Invalid Hook type: {template.get_str('TYPE') or ''}")
    if not (template.get_str("COMMAND") or "").strip():
        raise InternalError("No COMMAND in template for Hook.")
    remote = (template.get_str("REMOTE") or "NO").upper()
    if remote not in ("NO", "YES"):
        raise InternalError(f"REMOTE must be YES or NO, not {template.get_str('REMOTE')}")
    template.set("REMOTE", remote)
    template.set("TYPE", kind)
    if kind == "api":
        if template.get_str("CALL") not in calls:
            raise InternalError(f"API call does not exist or is not supported: {template.get_str('CALL') or ''}")
        return name, kind
    resource = (template.get_str("RESOURCE") or "").upper()
    if resource not in RESOURCES:
        raise InternalError(f"Invalid resource type: {template.get_str('RESOURCE') or ''}")
    template.set("RESOURCE", resource)
    state, lcm = _trigger(template, resource)
    template.remove("ON")
    template.set("STATE", state)
    template.set("LCM_STATE", lcm)
    return name, kind


def _trigger(template: Template, resource: str) -> tuple[str, str]:
    on = (template.get_str("ON") or "").upper()
    if not on:
        state, lcm = (template.get_str("STATE") or "").upper(), (template.get_str("LCM_STATE") or "").upper()
        if not state:
            raise InternalError("The STATE attribute is not defined or it's invalid.")
        return state, lcm
    if resource == "HOST":
        if on != "CREATE" and on not in HostState.__members__:
            raise InternalError(f"Unkown state condition: {on}")
        return on, ""
    if on == "CUSTOM":
        state, lcm = (template.get_str("STATE") or "").upper(), (template.get_str("LCM_STATE") or "LCM_INIT").upper()
        if state not in VMState.__members__:
            raise InternalError(f"Unkown state condition: {state}")
        if lcm not in LCMState.__members__:
            raise InternalError(f"Wrong LCM_STATE: {lcm}")
        return state, lcm
    if on in VM_ON:
        return VM_ON[on]
    if on in VMState.__members__:  # every other state by its name, e.g. POWEROFF
        return on, "LCM_INIT"
    if on in LCMState.__members__:
        return "ACTIVE", on
    raise InternalError(f"Unkown state condition: {on}")


MAX_OUTPUT = 64 * 1024  # bytes of a run's stdout (and of its stderr) the log keeps
FROM_CONFIG = "FROM_CONFIG"  # marks the hook objects the configuration file defines


def sync_config_hooks(db: Database, hooks: Mapping[str, Sequence[ScriptHookConfig]]) -> None:
    """Make the configuration file's hooks (by resource) hook objects marked FROM_CONFIG: updated in
    place by NAME (their logs stay), created, or removed when no longer defined. Hooks made through
    the API are left alone. A wrong definition is a ConfigError naming it."""
    wanted: dict[str, Template] = {}
    for resource, definitions in hooks.items():
        for index, hook in enumerate(definitions):
            where = f"hooks.{resource.lower()}[{index}]"
            template = Template([("NAME", hook.name), ("TYPE", "state"), ("RESOURCE", resource), ("ON", hook.on),
                                 ("COMMAND", hook.command), ("ARGUMENTS", hook.arguments), (FROM_CONFIG, "YES"),
                                 ("REMOTE", "YES" if hook.remote else "NO")])
            if hook.timeout > 0:
                template.set("TIMEOUT", f"{hook.timeout:g}")
            try:
                checked_template(template)
            except InternalError as exc:
                raise ConfigError(f"{where}: {exc.message}") from None
            if hook.name in wanted:
                raise ConfigError(f"{where}: another hook of the configuration is already named {hook.name!r}")
            wanted[hook.name] = template
    with db.write() as session:
        from_file = {h.name: h for h in session.scalars(select(Hook)) if Template.from_json(h.template).get_str(FROM_CONFIG)}
        for name, template in wanted.items():
            found = from_file.pop(name, None)
            if found is None:
                session.add(Hook(id=db.next_id(session, "hook"), name=name, type="state", template=template.to_json()))
            else:
                found.template = template.to_json()
        for gone in from_file.values():
            session.execute(delete(HookExecution).where(HookExecution.hook_id == gone.id))
            session.delete(gone)


def b64(data: bytes) -> str:
    """Base64 as oned's log keeps output: a line break every 60 characters and at the end."""
    text = base64.b64encode(data).decode()
    return "".join(f"{line}\n" for line in textwrap.wrap(text, 60)) if text else ""


class ScriptHooks:
    """The built-in hook plugin that runs the hook objects' commands."""

    def __init__(self, db: Database, documents: Documents, timeout: float, retention: int = 20, ssh: str = "ssh") -> None:
        self.db = db
        self.ssh = ssh  # the command line REMOTE hooks run through (admin's config, split like a shell would)
        self.documents = documents
        self.timeout = timeout
        self.retention = retention
        self._hooks: list[tuple[int, str, Template]] | None = None  # cache, dropped when a hook changes
        self._lock = threading.Lock()

    def changed(self) -> bool:
        """A hook was created, updated or deleted: read them again; whether any exists (if none, the
        daemon unregisters this plugin, so that no event is stored for nobody)."""
        self._hooks = None
        return bool(self._all())

    def _all(self) -> list[tuple[int, str, Template]]:
        hooks = self._hooks
        if hooks is None:
            with self.db.read() as session:
                hooks = [(h.id, h.type, Template.from_json(h.template)) for h in session.scalars(select(Hook).order_by(Hook.id))]
            self._hooks = hooks
        return hooks

    # -- events ----------------------------------------------------------------------------

    @hookimpl
    def vm_allocated(self, event: VMAllocated) -> None:
        self._state_event("VM", event.vm_id, "CREATE", "", {})

    @hookimpl
    def vm_state_changed(self, event: VMStateChanged) -> None:
        previous = {"PREV_STATE": event.old_state, "PREV_LCM_STATE": event.old_lcm_state}
        self._state_event("VM", event.vm_id, event.state, event.lcm_state, previous)

    @hookimpl
    def host_created(self, event: HostCreated) -> None:
        self._state_event("HOST", event.host_id, "CREATE", "", {})

    @hookimpl
    def host_state_changed(self, event: HostStateChanged) -> None:
        self._state_event("HOST", event.host_id, event.state, "", {"PREV_STATE": event.old_state})

    @hookimpl
    def api_call_done(self, event: ApiCallDone) -> None:
        hooks = [(hook_id, template) for hook_id, kind, template in self._all()
                 if kind == "api" and template.get_str("CALL") == event.method]
        if not hooks:
            return
        info = b64_line(call_info(event, self._created(event)).encode())
        for hook_id, template in hooks:
            self.run(hook_id, template, self._arguments(template, {"API": info}, None))

    def _created(self, event: ApiCallDone) -> str:
        """The XML of the object a successful allocate made (CALL_INFO's EXTRA), "" otherwise."""
        resource = CREATORS.get(event.method)
        if resource is None or event.code != 0 or not event.result.isdigit():
            return ""
        try:
            return self.documents[resource](int(event.result))
        except Exception as exc:  # noqa: BLE001 - gone meanwhile, or unreadable: the hook still runs
            log.info("no EXTRA for %s %s: %s", event.method, event.result, exc)
            return ""

    def _state_event(self, resource: str, obj_id: int, state: str, lcm: str, extra: dict[str, str]) -> None:
        matching = [(hook_id, template) for hook_id, kind, template in self._all() if kind == "state" and Trigger(
            resource, template.get_str("STATE") or "", template.get_str("LCM_STATE") or "").matches(resource, state, lcm)]
        if not matching:
            return
        document = self.documents[resource](obj_id)
        values = {"ID": str(obj_id), "VMID" if resource == "VM" else "HID": str(obj_id), **extra,
                  "TEMPLATE": b64_line(document.encode())}
        host = _event_host(resource, document)
        for hook_id, template in matching:
            remote = host if template.get_str("REMOTE") == "YES" else ""
            self.run(hook_id, template, self._arguments(template, values, document), remote_host=remote)

    @staticmethod
    def _arguments(template: Template, values: Mapping[str, str], document: str | None) -> list[str]:
        """ARGUMENTS split on blanks, each ``$NAME`` token replaced on its own (never through a shell)."""
        attributes = _attributes(document) if document else {}
        tokens = (template.get_str("ARGUMENTS") or "").split()
        return [values.get(t[1:], attributes.get(t[1:], "")) if VARIABLE.fullmatch(t) else t for t in tokens]

    # -- running ---------------------------------------------------------------------------

    def run(self, hook_id: int, template: Template, arguments: Sequence[str], retry: bool = False,
            remote_host: str = "") -> HookExecution:
        """Run the hook's command with ``arguments`` (over SSH on ``remote_host`` if given) and record the
        run; never raises for the command's failure.

        Remotely, ssh hands the remote shell one command line: every word is quoted for it
        (``shlex.quote``), so what the arguments hold stays text there too.
        """
        command = (template.get_str("COMMAND") or "").strip()
        timeout = _seconds(template.get_str("TIMEOUT"), self.timeout)
        started = int(time.time())
        argv = [command, *arguments]
        if remote_host:
            argv = [*shlex.split(self.ssh), "--", remote_host, shlex.join(argv)]
        with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:  # on disk: output may be huge
            try:
                code = subprocess.run(argv, stdout=stdout, stderr=stderr, timeout=timeout, stdin=subprocess.DEVNULL,
                                      check=False).returncode
                note = b""
            except subprocess.TimeoutExpired:
                code, note = -1, f"timed out after {timeout:g}s\n".encode()
            except OSError as exc:
                code, note = -1, f"cannot run {command}: {exc.strerror or exc}\n".encode()
            out, err = _head(stdout), _head(stderr) + note
        if code != 0:
            log.warning("hook %d (%s) exited %d%s", hook_id, command, code, f" on {remote_host}" if remote_host else "")
        return self._record(hook_id, started, arguments, " ".join([command, *arguments]), out, err, code, retry, remote_host)

    def _record(self, hook_id: int, started: int, arguments: Sequence[str], command: str, out: bytes, err: bytes,
                code: int, retry: bool, remote_host: str) -> HookExecution:
        with self._lock, self.db.write() as session:
            last = session.scalar(select(func.max(HookExecution.execution_id)).where(HookExecution.hook_id == hook_id))
            record = HookExecution(hook_id=hook_id, execution_id=0 if last is None else last + 1, timestamp=started,
                                   arguments=" ".join(arguments), argv=json.dumps(list(arguments)), command=command,
                                   stdout=b64(out), stderr=b64(err), code=code, retry=retry, remote_host=remote_host)
            if session.get(Hook, hook_id) is None:
                return record  # deleted meanwhile: nothing to log into
            session.add(record)
            session.flush()
            session.execute(delete(HookExecution).where(
                HookExecution.hook_id == hook_id, HookExecution.execution_id <= record.execution_id - self.retention))
        return record

    def retry(self, hook_id: int, execution_id: int) -> threading.Thread:
        """Run a recorded execution again with the same arguments, in the background (the caller is
        answered at once, as by oned); the new record says RETRY. Refusals are raised before."""
        with self.db.read() as session:
            hook = session.get(Hook, hook_id)
            if hook is None:
                raise NoExistsError(f"Error getting hook [{hook_id}].", hook_id)
            past = session.scalars(select(HookExecution).where(
                HookExecution.hook_id == hook_id, HookExecution.execution_id == execution_id)).first()
            if past is None:
                raise InternalError("Invalid HookLog body. Arguments not found.")
            template, arguments, remote = Template.from_json(hook.template), json.loads(past.argv), past.remote_host
        worker = threading.Thread(target=self.run, args=(hook_id, template, arguments, True, remote),
                                  name=f"hook-{hook_id}-retry", daemon=True)
        worker.start()
        return worker


def b64_line(data: bytes) -> str:
    """Strict base64 on one line, as $TEMPLATE and $API are passed."""
    return base64.b64encode(data).decode()


def call_info(event: ApiCallDone, extra: str = "") -> str:
    """``<CALL_INFO>`` as oned gives an API hook: RESULT (1 success, 0 failure), the IN parameters
    (session masked), OUT 1 success, 2 the value or error message, 3 the error code, and in EXTRA
    the XML of the object an allocate made."""
    ok = event.code == 0
    parameters = [("IN", value) for value in event.arguments]
    parameters += [("OUT", "true" if ok else "false"), ("OUT", event.result), ("OUT", str(event.code))]
    positions = {"IN": 0, "OUT": 0}
    rows = []
    for direction, value in parameters:
        positions[direction] += 1
        rows.append(f"<PARAMETER><POSITION>{positions[direction]}</POSITION><TYPE>{direction}</TYPE>"
                    f"<VALUE>{escape(value)}</VALUE></PARAMETER>")
    return (f"<CALL_INFO><RESULT>{int(ok)}</RESULT><METHOD>{escape(event.method)}</METHOD><USER_ID>{event.uid}</USER_ID>"
            f"<PARAMETERS>{''.join(rows)}</PARAMETERS><EXTRA>{extra}</EXTRA></CALL_INFO>")


def _event_host(resource: str, document: str) -> str:
    """Where a REMOTE hook runs: the host itself, or the host a VM was last placed on ("" if none)."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return ""
    if resource == "HOST":
        return root.findtext("NAME") or ""
    placements = root.findall("HISTORY_RECORDS/HISTORY")
    return (placements[-1].findtext("HOSTNAME") or "") if placements else ""


def _head(output: IO[bytes]) -> bytes:
    """What a command printed, cut at MAX_OUTPUT bytes with a note: the log keeps a hook's story, not its data."""
    size = output.seek(0, 2)
    output.seek(0)
    kept = output.read(MAX_OUTPUT)
    return kept + (f"\n[... {size - MAX_OUTPUT} more bytes not kept]\n".encode() if size > MAX_OUTPUT else b"")


def _attributes(document: str) -> dict[str, str]:
    """``$NAME`` and the object's template attributes (TEMPLATE, then USER_TEMPLATE) by name."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return {}
    found = {child.tag: child.text or "" for child in root if len(child) == 0}
    for section in ("USER_TEMPLATE", "TEMPLATE"):
        element = root.find(section)
        if element is not None:
            found.update({child.tag: child.text or "" for child in element if len(child) == 0})
    return found


def _seconds(text: str | None, default: float) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if 0 < value <= 3600 else default
