"""Fuzzing the API: every registered method, fed wrong, odd and hostile input, answers in one of its three shapes.

The sweeps walk the live method table (``cloud.table``), so a method is fuzzed as soon as it is
registered. Each reply must be an XML-RPC fault with one of xmlrpc-c's codes, ``[true, value, 0]``
or ``[false, "[method] message", code, id, -1]`` with one of OpenNebula's error codes: never an
HTTP 500, a hang, a traceback or the dispatcher's "Internal error" (a handler raised something
unexpected), and nothing logs an exception meanwhile. Raw HTTP abuse gets a fault or an HTTP
error, and the daemon keeps serving other clients through all of it.

Bugs the sweeps found are kept in REGRESSIONS, each as the exact reply its call must now get.
"""

from __future__ import annotations

import datetime
import http.client
import io
import itertools
import logging
import socket
import threading
import time
import xmlrpc.client
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import pytest
from conftest import make_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nebula_core.api.rpc import NO_DEFAULT, Method, Param
from nebula_core.daemon import Cloud

CALL_TIMEOUT = 10.0  # no reply may take longer: more is a hang
FAULT_CODES = frozenset({-500, -501, -503, -506})  # xmlrpc-c's: no parameters, bad parameters, not a call, no such method
ERROR_CODES = frozenset(1 << bit for bit in range(8, 16))  # AUTHENTICATION 0x100 ... LOCKED 0x8000
LEAKS = (b"Traceback", b"Internal error")
MIB = 2**20
VM_TEMPLATE = 'NAME = "fz" CPU = 0.1 MEMORY = 8'
PASSWORD = "fz-secret"
SERIAL = itertools.count(1)  # names the sweeps' users and objects: the daemon on SQLite serves several tests


# -- the wire: XML-RPC bodies (including what xmlrpc.client refuses to write) and the replies' shapes ------------------


class Wide(int):
    """An integer written as it is, past XML-RPC's 32 bits: ``<i8>`` (an extension some clients send)."""

    tag = "i8"


class WideI4(Wide):
    """An out-of-range ``<int>``: xmlrpc-c rejects it, Python's parser reads it without complaint."""

    tag = "int"


def _dump_wide(marshaller: xmlrpc.client.Marshaller, value: Wide, write: Callable[[str], Any]) -> None:
    write(f"<value><{value.tag}>{int(value)}</{value.tag}></value>\n")


class _Marshaller(xmlrpc.client.Marshaller):
    """xmlrpc.client's writer, but for Wide integers: it writes them as they are."""

    def __init__(self) -> None:
        super().__init__("utf-8", allow_none=True)
        self.dispatch = {**self.dispatch, Wide: _dump_wide, WideI4: _dump_wide}


def call_body(method: str, params: tuple[Any, ...]) -> bytes:
    payload = _Marshaller().dumps(params)
    return f"<?xml version='1.0'?>\n<methodCall>\n<methodName>{escape(method)}</methodName>\n{payload}</methodCall>\n".encode()


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def value(self) -> Any:
        """The one value of a methodResponse, or its Fault; raises when the body is not one."""
        try:
            (value,), _ = xmlrpc.client.loads(self.body, use_builtin_types=True)
        except xmlrpc.client.Fault as fault:
            return fault
        return value

    def summary(self) -> str:
        """``HTTP 413``, ``fault -503``, ``success``, ``error 256``: what the tests below expect."""
        if self.status != 200:
            return f"HTTP {self.status}"
        try:
            value = self.value()
        except Exception:  # noqa: BLE001 - whatever the parser says, it is no reply
            return "unreadable"
        if isinstance(value, xmlrpc.client.Fault):
            return f"fault {value.faultCode}"
        if type(value) is list and len(value) >= 3:
            return "success" if value[0] is True else f"error {value[2]}"
        return "unreadable"

    def brief(self) -> str:
        try:
            shown = repr(self.value())
        except Exception:  # noqa: BLE001 - unreadable: show the bytes
            shown = repr(self.body)
        return f"HTTP {self.status} {shown[:240]}"


def endpoint(cloud: Cloud) -> tuple[str, int, str]:
    where = urlsplit(cloud.api.endpoint)
    return where.hostname or "127.0.0.1", where.port or 80, where.path


class Wire:
    """One keep-alive HTTP connection to the API with a timeout; each call's raw status and body."""

    def __init__(self, cloud: Cloud) -> None:
        self.host, self.port, self.path = endpoint(cloud)
        self._conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> Reply:
        reused = self._conn is not None
        try:
            return self._exchange(body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            return self._exchange(body)  # the server had closed the idle keep-alive connection: once more on a new one

    def _exchange(self, body: bytes) -> Reply:
        conn = self._conn or http.client.HTTPConnection(self.host, self.port, timeout=CALL_TIMEOUT)
        self._conn = None
        try:
            conn.request("POST", self.path, body, {"Content-Type": "text/xml"})
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._conn = conn
        return Reply(response.status, data)

    def call(self, method: str, *params: Any) -> Reply:
        return self.post(call_body(method, params))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def shape_problem(method: str | None, reply: Reply) -> str | None:
    """Why a reply is none of the API's three shapes (None when it is one of them); ``method`` None: any method's."""
    if reply.status != 200:
        return f"HTTP {reply.status}: {reply.body[:200]!r}"
    for leak in LEAKS:
        if leak in reply.body:
            return f"{leak.decode()!r} in the reply: {reply.brief()}"
    try:
        value = reply.value()
    except Exception as exc:  # noqa: BLE001 - whatever the parser says, the body is not a methodResponse
        return f"unreadable reply ({exc!r}): {reply.body[:200]!r}"
    if isinstance(value, xmlrpc.client.Fault):
        if value.faultCode in FAULT_CODES and isinstance(value.faultString, str):
            return None
        return f"a fault outside {sorted(FAULT_CODES)}: {reply.brief()}"
    if type(value) is list and len(value) == 3 and value[0] is True and type(value[2]) is int and value[2] == 0:
        return None
    if (type(value) is list and len(value) == 5 and value[0] is False and isinstance(value[1], str)
            and value[1].startswith(f"[{method}] " if method else "[") and type(value[2]) is int and value[2] in ERROR_CODES
            and type(value[3]) is int and type(value[4]) is int and value[4] == -1):
        return None
    return f"neither [true, value, 0] nor [false, '[{method or '...'}] ...', code, id, -1]: {reply.brief()}"


def succeeded(reply: Reply) -> bool:
    return reply.summary() == "success"


# -- daemons and their logs ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """One daemon on SQLite for the sweeps whose answers do not depend on the engine (one per test costs more)."""
    root = tmp_path_factory.mktemp("fuzz")
    running = Cloud(make_config(root, f"sqlite:///{root}/nebula.db"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def sqlite_admin(sqlite_cloud: Cloud) -> str:
    return Path(sqlite_cloud.config.one_auth_path).read_text().strip()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """ERROR records with an exception, logged anywhere while the test runs (the dispatcher logs one per "Internal error")."""
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


def no_tracebacks(records: list[logging.LogRecord]) -> None:
    assert not records, "\n".join(f"{r.name}: {r.getMessage()[:200]} ({(r.exc_info or (None, None))[1]!r})" for r in records)


# -- the values ------------------------------------------------------------------------------------------------------

WRONG_TYPES: dict[str, Any] = {
    "int": 7, "string": "7", "boolean": True, "double": 1.5, "array": [7], "struct": {"id": 7},
    "base64": b"7", "dateTime": datetime.datetime(2024, 1, 1), "nil": None,
}
INTS: dict[str, int] = {
    "0": 0, "1": 1, "-1": -1, "-2": -2, "-3": -3, "-4": -4, "-5": -5, "int32-max": 2**31 - 1, "int32-min": -(2**31),
    "i4-overflow": WideI4(2**31), "i4-underflow": WideI4(-(2**31) - 1), "i8-max": Wide(2**63 - 1), "i8-min": Wide(-(2**63)),
    "i8-overflow": Wide(2**64), "int-10^30": WideI4(10**30),
}
STRINGS: dict[str, str] = {
    "empty": "", "space": " ", "1MiB": "A" * MIB, "long-unicode": "ü名🚀" * 20_000, "name-129": "n" * 129,
    "xml-controls": "\t\r\n\x7f\x85\u2028", "non-xml-controls": "a\x01\x08\x1fb",  # the latter make the call unparsable: -503
    "xml-meta": "<a>&amp;</a>]]>\"'&", "unicode": "ünïcødé 名前 🚀 \u202eevil", "template-syntax": 'A = "\nB = [ C = ',
    "format": "%s%n{0}$(NAME)\\", "sql": "' OR 1=1; DROP TABLE users; --", "path": "../../../../etc/passwd",
    "colon": "a:b", "numeric": "-1", "true": "true",
}
BOOLS: dict[str, bool] = {"true": True, "false": False}
LISTS: dict[str, list[Any]] = {
    "empty": [], "ints": [0, 1], "negative": [-1], "int32-max": [2**31 - 1], "i8": [Wide(2**63 - 1)], "strings": ["a"],
    "nested": [[0]], "struct": [{"a": 1}], "bool": [True], "thousand": list(range(1000)),
}
DOUBLES: dict[str, float] = {"0": 0.0, "-1.5": -1.5, "huge": 1e308, "inf": float("inf"), "nan": float("nan")}
STRUCTS: dict[str, dict[str, Any]] = {"empty": {}, "one": {"a": 1}, "nested": {"a": {"b": [1]}}}
TEMPLATES: dict[str, str] = {  # for the string parameters that take a template (TEMPLATE_PARAMS)
    "100KiB-attribute": f'{VM_TEMPLATE} A = "{"x" * 100_000}"',
    "6000-attributes": VM_TEMPLATE + "".join(f"\nA{i} = {i}" for i in range(6000)),
    "nic-on-network-2^31": f"{VM_TEMPLATE} NIC = [ NETWORK_ID = 2147483648 ]",
    "nic-on-network--1": f"{VM_TEMPLATE} NIC = [ NETWORK_ID = -1 ]",
    "nan-cpu": 'NAME = "fz" CPU = nan MEMORY = 8',
    "huge-numbers": 'NAME = "fz" CPU = 1e400 MEMORY = 99999999999999999999 VCPU = 99999999999999',
    "5000-parentheses": f'{VM_TEMPLATE} SCHED_REQUIREMENTS = "{"(" * 5000}"',
    "rank-by-zero": f'{VM_TEMPLATE} SCHED_RANK = "FREE_CPU / 0"',
    "nested-vectors": "A = [ B = [ C = 1 ] ]",
    "ar-huge-size": 'AR = [ TYPE = IP4, IP = "10.0.0.1", SIZE = 99999999999999 ]',
    "ar-past-255": 'AR = [ TYPE = IP4, IP = "255.255.255.250", SIZE = 100 ]',
    "lease-bad-ip": 'LEASES = [ IP = "300.0.0.1" ]',
    "reserve-huge": 'SIZE = 99999999999999 NAME = "fz"',
}
TEMPLATE_PARAMS = ("template", "extra")
VALUES: dict[str, dict[str, Any]] = {
    "int": INTS, "str": STRINGS, "bool": BOOLS, "list": LISTS, "double": DOUBLES, "struct": STRUCTS, "template": TEMPLATES,
}
GROUPS: dict[type, str] = {int: "int", str: "str", bool: "bool", list: "list", float: "double", dict: "struct"}
SESSIONS: dict[str, str] = {  # most cost a password check: each method gets one (see odd_sessions)
    "empty": "", "garbage": "garbage", "no-password": "oneadmin:", "wrong-password": "oneadmin:wrong", "no-user": ":x",
    "unknown-user": "nosuch:x", "1MiB": "fz:" + "A" * MIB, "unicode": "ü名🚀:ü", "xml-meta": "<a>&:'\"",
}
# Subsets of VALUES (labels per group; a group not named: all its values). The servers get the values that may differ in
# what each engine stores or compares; a plain user's calls mostly stop at the permission check, a few values suffice.
ENGINE_VALUES = {
    "str": ("1MiB", "long-unicode", "name-129", "xml-controls", "xml-meta", "unicode", "sql", "colon"),
    "template": ("100KiB-attribute", "6000-attributes", "nic-on-network-2^31", "huge-numbers", "ar-huge-size", "reserve-huge"),
}
USER_VALUES = {
    "str": ("empty", "1MiB", "unicode", "xml-meta", "name-129"), "int": ("0", "1", "-1", "-5", "int32-max", "int32-min"),
    "template": ("100KiB-attribute", "huge-numbers"),
}

BASE_STRINGS = {"template": VM_TEMPLATE, "name": "fz", "password": PASSWORD, "im_mad": "dummy", "vm_mad": "dummy",
                "action": "hold"}
KIND_ALIASES = {"vnet": "vn", "network": "vn", "uid": "user", "gid": "group"}
# How the sweeps make one object of each kind they know; an id of another kind defaults to 0, usually a built-in object.
RECIPES: dict[str, tuple[str, Callable[[int], tuple[Any, ...]]]] = {
    "host": ("one.host.allocate", lambda n: (f"fz-host-{n}", "dummy", "dummy", -1)),
    "vm": ("one.vm.allocate", lambda n: (VM_TEMPLATE, True)),
    "vn": ("one.vn.allocate", lambda n: (f'NAME = "fz-net-{n}" AR = [ TYPE = IP4, IP = "10.77.{n % 250}.1", SIZE = 8 ]', -1)),
    "template": ("one.template.allocate", lambda n: (f'NAME = "fz-template-{n}" CPU = 0.1 MEMORY = 8',)),
    "group": ("one.group.allocate", lambda n: (f"fz-group-{n}",)),
    "user": ("one.user.allocate", lambda n: (f"fz-target-{n}", PASSWORD, "", [])),
}


# -- the cases -------------------------------------------------------------------------------------------------------

CURRENT = object()  # the sweeper's session, whatever it is when the case is sent
ABSENT = object()  # no session either: no parameters at all


@dataclass(frozen=True)
class Case:
    """One call: the arguments after the session, and what the reply must be beyond its shape."""

    method: str
    label: str
    args: tuple[Any, ...]
    session: Any = CURRENT
    fault: int | None = None  # the fault it must give
    error: int | None = None  # the code of the [false, ...] reply it must give
    no_fault: bool = False  # a well-formed call: any reply but a fault

    def __str__(self) -> str:
        return f"{self.method} {self.label}"


def kind_of(method: str, param: str) -> str | None:
    """Which object an integer parameter names: ``id`` the method's own (one.<kind>.verb), ``host_id`` a host."""
    if param == "id":
        kind = method.split(".")[-2] if "." in method else method
        return KIND_ALIASES.get(kind, kind)
    stem = param.removesuffix("_id")
    return KIND_ALIASES.get(stem, stem) if stem != param or param in KIND_ALIASES else None


def protected(method: str, param: Param, value: Any) -> bool:
    """oneadmin (user 0) is the sweeps' way in: no case may change its password, disable or remove it."""
    return param.type is int and kind_of(method, param.name) == "user" and value == 0


def baseline(method: Method, ids: dict[str, int]) -> tuple[Any, ...]:
    """Arguments a caller would plausibly send: defaults, existing objects' ids, a template, a name."""
    args: list[Any] = []
    for param in method.params:
        if param.default is not NO_DEFAULT:
            args.append(param.default)
        elif param.type is int:
            value = ids.get(kind_of(method.name, param.name) or "", 0)
            args.append(-1 if protected(method.name, param, value) else value)
        elif param.type is str:
            args.append(BASE_STRINGS.get(param.name, "fz"))
        else:
            args.append(next(iter(VALUES[GROUPS[param.type]].values())) if param.type in GROUPS else None)
    return tuple(args)


def required(method: Method) -> int:
    """How many arguments after the session the method cannot do without."""
    return max((i + 1 for i, p in enumerate(method.params) if p.default is NO_DEFAULT), default=0)


def with_arg(args: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    return (*args[:index], value, *args[index + 1:])


def type_cases(method: Method, ids: dict[str, int]) -> Iterator[Case]:
    """A value of every other XML-RPC type in each position, the session's included: fault -501."""
    base = baseline(method, ids)
    for label, value in WRONG_TYPES.items():
        if type(value) is not str:
            yield Case(method.name, f"session={label}", base, session=value, fault=-501)
    for index, param in enumerate(method.params):
        for label, value in WRONG_TYPES.items():
            if type(value) is not param.type and type(value) not in param.also:
                yield Case(method.name, f"{param.name}={label}", with_arg(base, index, value), fault=-501)


def arity_cases(method: Method, ids: dict[str, int]) -> Iterator[Case]:
    """No parameters (-500), too few (-501), just the required ones and extra trailing ones (no fault)."""
    base, needed = baseline(method, ids), required(method)
    yield Case(method.name, "no-parameters", (), session=ABSENT, fault=-500)
    for count in sorted({0, needed - 1}) if needed else ():
        yield Case(method.name, f"{count}-of-{needed}-arguments", base[:count], fault=-501)
    yield Case(method.name, "required-only", base[:needed], no_fault=True)
    yield Case(method.name, "extra-trailing", (*base, "extra", 5, [1], {"a": 1}, True), no_fault=True)


def odd_sessions(method: str, count: int) -> list[tuple[str, str]]:
    """``count`` of SESSIONS for a method, others for the next: over the whole table every value is sent many times."""
    items = list(SESSIONS.items())
    start = zlib.crc32(method.encode())
    return [items[(start + k) % len(items)] for k in range(count)]


def value_groups(param: Param) -> list[str]:
    """The groups of VALUES that hold odd values of the parameter's type(s)."""
    groups = [GROUPS[t] for t in (param.type, *param.also) if t in GROUPS]
    return [*groups, "template"] if param.type is str and param.name in TEMPLATE_PARAMS else groups


def value_cases(method: Method, ids: dict[str, int], subset: dict[str, tuple[str, ...]] | None = None,
                sessions: int = 1) -> Iterator[Case]:
    """Odd values of the right type in each position (only ``subset``'s labels of the groups it names), and odd sessions."""
    base = baseline(method, ids)
    yield Case(method.name, "baseline", base)
    for label, session in odd_sessions(method.name, sessions):
        yield Case(method.name, f"session={label}", base, session=session, error=0x100 if method.authenticated else None)
    for index, param in enumerate(method.params):
        for group in value_groups(param):
            for label, value in VALUES[group].items():
                if subset and group in subset and label not in subset[group]:
                    continue
                if not protected(method.name, param, value):
                    yield Case(method.name, f"{param.name}={label}", with_arg(base, index, value))


# -- known bugs --------------------------------------------------------------------------------------------------------


def integers_in(value: Any) -> Iterator[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from integers_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from integers_in(item)


@dataclass(frozen=True)
class Regression:
    """A bug the sweeps found once, kept as the exact reply its call must now get on every engine."""

    id: str
    call: Callable[[Wire, str], Reply]
    expected: str  # Reply.summary()


REGRESSIONS: list[Regression] = [
    # <i8> or an oversized <int> where oned reads a 32-bit int: refused as xmlrpc-c does, never echoed or queried
    Regression("int-beyond-32-bits", lambda wire, session: wire.call("one.vm.info", session, Wide(2**31)), "fault -501"),
    Regression("int-beyond-64-bits", lambda wire, session: wire.call("one.vnpool.info", session, -2, Wide(2**64), -1),
               "fault -501"),
    # an id from a template's text is no integer argument: too big for the column is simply "no such network"
    Regression("template-id-beyond-32-bits",
               lambda wire, session: wire.call("one.vm.allocate", session, TEMPLATES["nic-on-network-2^31"]), "error 1024"),
    # MariaDB's TEXT stops at 64 KiB: templates are MEDIUMTEXT there
    Regression("template-over-64KiB",
               lambda wire, session: wire.call("one.template.allocate", session, TEMPLATES["100KiB-attribute"]), "success"),
]


def engine_of(cloud: Cloud) -> str:
    scheme = cloud.config.database_url.split(":", 1)[0].split("+", 1)[0]
    return {"mysql": "mariadb"}.get(scheme, scheme)


# -- the sweep ---------------------------------------------------------------------------------------------------------


class Sweep:
    """Sends cases to one daemon as a fresh admin (group oneadmin) or plain user, and keeps its session usable."""

    def __init__(self, cloud: Cloud, admin_session: str, admin: bool) -> None:
        self.admin_session, self.admin = admin_session, admin
        self.wire = Wire(cloud)
        self.engine = engine_of(cloud)
        self.methods: dict[str, Method] = cloud.table.methods
        self.made: dict[str, tuple[int, str]] = {}  # kind: the id of an object of that kind and the session that made it
        self.session = self._new_sweeper()
        self.changed = True  # a call succeeded since the objects were last looked at: one may be gone, locked, given away
        self.last = ""  # the method of the latest case
        self.sent = 0
        self.problems: list[str] = []

    def _new_sweeper(self) -> str:
        """A user to send the cases as (a case may change its password, its group, or remove it), with objects of its own."""
        name = f"fz-{'admin' if self.admin else 'user'}-{next(SERIAL)}"
        reply = self.wire.call("one.user.allocate", self.admin_session, name, PASSWORD, "", [0] if self.admin else [])
        assert succeeded(reply), f"cannot create the sweep's user: {reply.brief()}"
        self.made.clear()
        self.changed = True
        return f"{name}:{PASSWORD}"

    def _fit(self, session: str) -> bool:
        """Whether ``session`` still works, and as an admin (one who may see oneadmin) if the sweep is an admin's."""
        return succeeded(self.wire.call("one.user.info", session, 0 if self.admin else -1))

    def objects(self) -> dict[str, int]:
        """Ids of an object of each kind in RECIPES (the sweeper's own where it may), unlocked, re-made if a case took it away.

        Only a call that succeeded changes anything: the checks run after a method that had one.
        """
        if self.changed:
            assert self._fit(self.admin_session), f"{self.last} broke oneadmin's session: the sweeps must leave it alone"
            if not self._fit(self.session):
                self.session = self._new_sweeper()
            self.changed = False
            for kind, (allocate, args) in RECIPES.items():
                if kind in self.made and self._still_there(kind, *self.made[kind]):
                    continue
                self.made.pop(kind, None)
                if allocate in self.methods:
                    serial = next(SERIAL)
                    for session in (self.session, self.admin_session):
                        reply = self.wire.call(allocate, session, *args(serial))
                        if succeeded(reply):
                            self.made[kind] = (reply.value()[1], session)
                            break
        return {kind: made[0] for kind, made in self.made.items()}

    def _still_there(self, kind: str, object_id: int, maker: str) -> bool:
        if f"one.{kind}.unlock" in self.methods:
            self.wire.call(f"one.{kind}.unlock", self.admin_session, object_id)
        return f"one.{kind}.info" in self.methods and succeeded(self.wire.call(f"one.{kind}.info", maker, object_id))

    def verdict(self, case: Case, again: bool = True) -> str | None:
        """What is wrong with the reply to ``case`` (None: nothing); sent ``again`` as a new sweeper if it was locked out."""
        session = self.session if case.session is CURRENT else case.session
        params = case.args if case.session is ABSENT else (session, *case.args)
        self.sent += 1
        self.last = case.method
        started = time.monotonic()
        try:
            reply = self.wire.post(call_body(case.method, params))
        except (OSError, http.client.HTTPException) as exc:  # TimeoutError included
            self.wire.close()
            return f"{case}: no reply after {time.monotonic() - started:.1f} s ({exc!r})"
        if again and case.session is CURRENT and reply.summary() == "error 256" and not self._fit(self.session):
            self.session = self._new_sweeper()  # an earlier case changed the sweeper's password, or removed it
            return self.verdict(case, again=False)
        self.changed = self.changed or succeeded(reply)
        problem = shape_problem(case.method, reply) or expectation_problem(case, reply)
        return f"{case}: {problem}" if problem else None

    def run(self, cases: Callable[[Method, dict[str, int]], Iterator[Case]]) -> None:
        """Every case for every registered method."""
        for name in sorted(self.methods):
            for case in cases(self.methods[name], self.objects()):
                problem = self.verdict(case)
                if problem:
                    self.problems.append(problem)

    def check(self, logged: list[logging.LogRecord]) -> None:
        self.wire.close()
        shown = "\n".join(self.problems[:50]) + (f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else "")
        assert not self.problems, f"{len(self.problems)} of {self.sent} calls answered wrongly:\n{shown}"
        no_tracebacks(logged)


def expectation_problem(case: Case, reply: Reply) -> str | None:
    summary = reply.summary()
    if case.fault is not None and summary != f"fault {case.fault}":
        return f"expected fault {case.fault}, got {reply.brief()}"
    if case.no_fault and summary.startswith("fault"):
        return f"expected a reply, got {reply.brief()}"
    if case.error is not None and summary != f"error {case.error}":
        return f"expected error {case.error}, got {reply.brief()}"
    return None


def sweep(cloud: Cloud, admin_session: str, admin: bool, cases: Callable[[Method, dict[str, int]], Iterator[Case]],
          logged: list[logging.LogRecord]) -> Sweep:
    done = Sweep(cloud, admin_session, admin)
    done.run(cases)
    done.check(logged)
    return done


# -- 1. every method, every position -------------------------------------------------------------------------------------


def test_wrong_types_are_faults(sqlite_cloud: Cloud, sqlite_admin: str, logged: list[logging.LogRecord]) -> None:
    """xmlrpc-c checks the types before oned runs: any other type in any position, the session's too, is fault -501."""
    done = sweep(sqlite_cloud, sqlite_admin, True, type_cases, logged)
    assert done.sent >= 8 * len(done.methods)


def test_argument_counts(sqlite_cloud: Cloud, sqlite_admin: str, logged: list[logging.LogRecord]) -> None:
    """Too few arguments is fault -501 (-500 for none at all); extra trailing ones are ignored, as oned does."""
    sweep(sqlite_cloud, sqlite_admin, True, arity_cases, logged)


def test_odd_values_as_admin(cloud: Cloud, admin_session: str, logged: list[logging.LogRecord]) -> None:
    """Huge, negative and wider than 32 bits ids, 1 MiB, empty, unicode and XML-laden strings, bad sessions: every engine.

    SQLite gets every string value, the servers those that may differ in what they store or compare.
    """
    subset = None if engine_of(cloud) == "sqlite" else ENGINE_VALUES
    sweep(cloud, admin_session, True, lambda method, ids: value_cases(method, ids, subset), logged)


def test_odd_values_as_plain_user(sqlite_cloud: Cloud, sqlite_admin: str, logged: list[logging.LogRecord]) -> None:
    """Some of the values from a user of group users (the sessions' checks do not depend on who): refusals are replies."""
    sweep(sqlite_cloud, sqlite_admin, False, lambda method, ids: value_cases(method, ids, USER_VALUES, sessions=0), logged)


def xmlrpc_values() -> st.SearchStrategy[Any]:
    """Any value XML-RPC carries (text of characters XML allows, so that most calls get parsed)."""
    text = st.text(st.characters(codec="utf-8", min_codepoint=0x20) | st.sampled_from("\t\n\r"), max_size=40)
    scalars = st.one_of(
        st.integers(-(2**31), 2**31 - 1), text, st.booleans(), st.floats(), st.binary(max_size=16), st.none(),
        st.datetimes(min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(9999, 1, 1)),
    )
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                        max_leaves=6)


ANY_VALUE = xmlrpc_values()


def argument_values(param: Param, plausible: Any) -> st.SearchStrategy[Any]:
    """An odd value of the parameter's type(s), any value at all, or a plausible one."""
    odd = [st.sampled_from(list(VALUES[group].values())) for group in value_groups(param)]
    return st.one_of(*odd, ANY_VALUE, st.just(plausible))


def random_calls(runner: Sweep, method: Method, ids: dict[str, int]) -> Callable[[], None]:
    """A Hypothesis test of one method: each argument from argument_values, cut short or with up to two more."""
    base = baseline(method, ids)
    arguments = st.tuples(*(argument_values(param, plausible) for param, plausible in zip(method.params, base, strict=True)))
    shapes = st.tuples(arguments, st.lists(ANY_VALUE, max_size=2), st.integers(0, len(base)))

    @settings(max_examples=20, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(shape=shapes)
    def calls(shape: tuple[tuple[Any, ...], list[Any], int]) -> None:
        drawn, extra, cut = shape
        args = [plausible if protected(method.name, param, value) else value
                for param, value, plausible in zip(method.params, drawn, base, strict=True)]
        args = args[:cut] if cut < len(args) else args + extra
        problem = runner.verdict(Case(method.name, f"args={args!r:.300}", tuple(args)))
        assert problem is None, problem

    return calls


def test_random_calls(sqlite_cloud: Cloud, sqlite_admin: str, logged: list[logging.LogRecord]) -> None:
    """Argument lists made by Hypothesis (derandomized: the same every run), a few dozen per method."""
    runner = Sweep(sqlite_cloud, sqlite_admin, True)
    for name in sorted(runner.methods):
        try:
            random_calls(runner, runner.methods[name], runner.objects())()
        except AssertionError as exc:  # Hypothesis re-raises the smallest failing example's
            runner.problems.append(str(exc).splitlines()[0])
    runner.check(logged)


@pytest.mark.parametrize("regression", REGRESSIONS, ids=lambda r: r.id)
def test_regression(cloud: Cloud, admin_session: str, regression: Regression, logged: list[logging.LogRecord]) -> None:
    """Each bug the sweeps once found now gets its exact, well-formed reply, on every engine."""
    wire = Wire(cloud)
    reply = regression.call(wire, admin_session)
    wire.close()
    assert reply.summary() == regression.expected, reply.brief()
    assert shape_problem(None, reply) is None
    no_tracebacks(logged)


# -- 2. raw HTTP -------------------------------------------------------------------------------------------------------


def exchange(cloud: Cloud, request: bytes, timeout: float = CALL_TIMEOUT) -> bytes:
    """Send ``request`` on a connection of its own, half-close it, and read until the server closes it."""
    host, port, _ = endpoint(cloud)
    received = b""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413, 431) before reading it all: read what it said
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break  # the server reset a connection with unread data after answering
            if not chunk:
                break
            received += chunk
    return received


class _Received(io.BytesIO):
    """Bytes read from a socket, parsed by HTTPResponse as if they came from it."""

    def makefile(self, *_: Any, **__: Any) -> io.BytesIO:
        return self

    def close(self) -> None:
        """HTTPResponse closes its file after each response; the next one follows in it."""


def responses(data: bytes) -> list[Reply]:
    """The HTTP responses one after the other in ``data``."""
    source, found = _Received(data), []
    while source.tell() < len(data):
        response = http.client.HTTPResponse(source)  # type: ignore[arg-type]
        response.begin()
        found.append(Reply(response.status, response.read()))
    return found


def post(body: bytes, *headers: bytes, length: bool = True) -> bytes:
    head = b"POST /RPC2 HTTP/1.1\r\nHost: nebula\r\nContent-Type: text/xml\r\n" + b"".join(h + b"\r\n" for h in headers)
    return head + (b"Content-Length: %d\r\n" % len(body) if length else b"") + b"\r\n" + body


def chunked(body: bytes) -> bytes:
    pieces = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def vm_info_with(session: str, value: bytes) -> bytes:
    """one.vm.info(session, <value>): a second parameter written by hand."""
    return (b"<?xml version='1.0'?><methodCall><methodName>one.vm.info</methodName><params><param><value><string>"
            + escape(session).encode() + b"</string></value></param><param><value>" + value
            + b"</value></param></params></methodCall>")


def version_with(session: str, extra: bytes = b"", prolog: bytes = b"<?xml version='1.0'?>") -> bytes:
    """one.system.version(session, ...extra params) with a given XML declaration."""
    return (prolog + b"<methodCall><methodName>one.system.version</methodName><params><param><value><string>"
            + escape(session).encode() + b"</string></value></param>" + extra + b"</params></methodCall>")


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a0 "ha">'
          + b"".join(b'<!ENTITY a%d "%s">' % (i, b"&a%d;" % (i - 1) * 10) for i in range(1, 10))
          + b"]><methodCall><methodName>one.system.version</methodName><params><param><value><string>&a9;</string></value>"
          b"</param></params></methodCall>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><methodCall><methodName>&x;'
       b"</methodName><params><param><value><string>x</string></value></param></params></methodCall>")  # -506 echoes the name
DEPTH = 10_000

# label: (the request, made from oneadmin's session and the body limit; the summary of each response, in order)
RAW: dict[str, tuple[Callable[[str, int], bytes], tuple[str, ...]]] = {
    "malformed-xml": (lambda s, _: post(version_with(s).replace(b"</methodName>", b"</methodNam>")), ("fault -503",)),
    "truncated": (lambda s, _: post(version_with(s)[:60]), ("fault -503",)),
    "empty-body": (lambda s, _: post(b""), ("fault -503",)),
    "no-content-length": (lambda s, _: post(version_with(s), length=False), ("fault -503",)),  # no length: no body
    "not-utf-8": (lambda s, _: post(version_with(s, b"<param><value><string>\xff\xfe</string></value></param>")),
                  ("fault -503",)),
    "latin-1-declared": (lambda s, _: post(version_with(s, b"<param><value><string>caf\xe9</string></value></param>",
                                                        b"<?xml version='1.0' encoding='ISO-8859-1'?>")), ("success",)),
    "utf-16": (lambda s, _: post(version_with(s, prolog=b"<?xml version='1.0' encoding='UTF-16'?>").decode().encode("utf-16")),
               ("success",)),
    "no-method-name": (lambda s, _: post(version_with(s).replace(b"<methodName>one.system.version</methodName>", b"")),
                       ("fault -503",)),
    "empty-method-name": (lambda s, _: post(version_with(s).replace(b"one.system.version", b"")), ("fault -506",)),
    "1MiB-method-name": (lambda s, _: post(version_with(s).replace(b"one.system.version", b"m" * MIB)), ("fault -506",)),
    "no-params": (lambda s, _: post(b"<methodCall><methodName>one.system.version</methodName></methodCall>"), ("fault -500",)),
    "method-response": (lambda s, _: post(xmlrpc.client.dumps((s,), methodresponse=True).encode()), ("fault -503",)),
    "fault-as-call": (lambda s, _: post(xmlrpc.client.dumps(xmlrpc.client.Fault(1, s), methodresponse=True).encode()),
                      ("fault -503",)),
    "bad-int": (lambda s, _: post(vm_info_with(s, b"<int>seven</int>")), ("fault -503",)),
    "int-of-5000-digits": (lambda s, _: post(vm_info_with(s, b"<int>" + b"9" * 5000 + b"</int>")), ("fault -503",)),
    "bad-boolean": (lambda s, _: post(vm_info_with(s, b"<boolean>2</boolean>")), ("fault -503",)),
    "bad-double": (lambda s, _: post(vm_info_with(s, b"<double>x</double>")), ("fault -503",)),
    "bad-dateTime": (lambda s, _: post(vm_info_with(s, b"<dateTime.iso8601>yesterday</dateTime.iso8601>")), ("fault -503",)),
    "struct-param": (lambda s, _: post(vm_info_with(s, b"<struct><member><name>id</name><value><int>0</int></value></member>"
                                                       b"</struct>")), ("fault -501",)),
    "base64-param": (lambda s, _: post(vm_info_with(s, b"<base64>AAAA</base64>")), ("fault -501",)),
    "bad-base64": (lambda s, _: post(vm_info_with(s, b"<base64>%%%</base64>")), ("fault -501",)),
    "dateTime-param": (lambda s, _: post(vm_info_with(s, b"<dateTime.iso8601>20240101T00:00:00</dateTime.iso8601>")),
                       ("fault -501",)),
    "nil-param": (lambda s, _: post(vm_info_with(s, b"<nil/>")), ("fault -501",)),
    "untyped-param": (lambda s, _: post(vm_info_with(s, b"7")), ("fault -501",)),  # an untyped value is a string
    "unknown-type": (lambda s, _: post(vm_info_with(s, b"<float>1</float>")), ("fault -501",)),
    "struct-session": (lambda s, _: post(b"<methodCall><methodName>one.system.version</methodName><params><param><value>"
                                         b"<struct></struct></value></param></params></methodCall>"), ("fault -501",)),
    f"arrays-{DEPTH}-deep": (lambda s, _: post(vm_info_with(s, b"<array><data><value>" * DEPTH + b"<int>1</int>"
                                                            + b"</value></data></array>" * DEPTH)), ("fault -501",)),
    f"structs-{DEPTH}-deep": (lambda s, _: post(vm_info_with(s, b"<struct><member><name>a</name><value>" * DEPTH + b"1"
                                                             + b"</value></member></struct>" * DEPTH)), ("fault -501",)),
    "100k-values": (lambda s, _: post(vm_info_with(s, b"<array><data>" + b"<value><int>0</int></value>" * 100_000
                                                   + b"</data></array>")), ("fault -501",)),
    "billion-laughs": (lambda s, _: post(LAUGHS), ("fault -503",)),
    "external-entity": (lambda s, _: post(XXE), ("fault -506",)),
    "chunked-call": (lambda s, _: post(chunked(version_with(s)), b"Transfer-Encoding: chunked", length=False), ("success",)),
    "chunked-oversize": (lambda s, limit: post(chunked(b" " * (limit + 1)), b"Transfer-Encoding: chunked", length=False),
                         ("HTTP 413",)),
    "oversize-body": (lambda s, limit: post(b" " * (limit + 1)), ("HTTP 413",)),
    "length-too-long": (lambda s, _: post(version_with(s), b"Content-Length: 100000", length=False), ()),  # EOF: no reply
    "length-too-short": (lambda s, _: post(version_with(s), b"Content-Length: 50", length=False), ("fault -503",)),
    "length-not-a-number": (lambda s, _: post(version_with(s), b"Content-Length: ten", length=False), ("HTTP 400",)),
    "length-negative": (lambda s, _: post(version_with(s), b"Content-Length: -5", length=False), ("HTTP 400",)),
    "length-twice": (lambda s, _: post(version_with(s), b"Content-Length: 5"), ("HTTP 400",)),
    "header-over-256KiB": (lambda s, _: post(version_with(s), b"X-Pad: " + b"p" * (256 * 1024)), ("HTTP 431",)),
    "garbage-request-line": (lambda s, _: b"\x01\x02 garbage\r\n\r\n", ("HTTP 400",)),
    "three-pipelined": (lambda s, _: post(version_with(s)) * 3, ("success",) * 3),
    "PUT": (lambda s, _: post(version_with(s)).replace(b"POST", b"PUT", 1), ("HTTP 405",)),
    "DELETE": (lambda s, _: post(b"").replace(b"POST", b"DELETE", 1), ("HTTP 405",)),
    "OPTIONS": (lambda s, _: post(b"").replace(b"POST", b"OPTIONS", 1), ("HTTP 405",)),
}


@pytest.mark.parametrize("label", list(RAW))
def test_raw_http(sqlite_cloud: Cloud, sqlite_admin: str, label: str, logged: list[logging.LogRecord]) -> None:
    """Malformed, truncated, oversize and hostile requests: a fault or an HTTP error each, and no traceback."""
    make, expected = RAW[label]
    data = exchange(sqlite_cloud, make(sqlite_admin, sqlite_cloud.config.api.max_request_bytes))
    found = responses(data)
    assert [reply.summary() for reply in found] == list(expected), data[:600]
    for reply in found:
        assert not any(leak in reply.body for leak in LEAKS), reply.body[:600]
        if reply.status == 200:
            assert shape_problem(None, reply) is None, reply.brief()
    assert b"root:" not in data  # no file read into a reply (external-entity's fault would show /etc/passwd)
    no_tracebacks(logged)


# -- 3. serving others meanwhile ---------------------------------------------------------------------------------------


def slow_request(cloud: Cloud, session: str, seconds: float) -> Reply:
    """A call sent a few bytes at a time over ``seconds``: a slow client must tie up no worker."""
    host, port, _ = endpoint(cloud)
    request = post(version_with(session))
    pause = seconds / (len(request) / 16)
    with socket.create_connection((host, port), timeout=CALL_TIMEOUT) as sock:
        for i in range(0, len(request), 16):
            sock.sendall(request[i:i + 16])
            time.sleep(pause)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return responses(data)[0]


def test_daemon_keeps_serving_during_abuse(cloud: Cloud, admin_session: str, logged: list[logging.LogRecord]) -> None:
    """While clients send every raw request above, 1 MiB arguments, slow and stalled requests and idle connections,
    another client's one.system.version keeps answering within seconds; one.vmpool.info works at the end."""
    host, port, _ = endpoint(cloud)
    limit = cloud.config.api.max_request_bytes
    stop = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []

    def watch() -> None:
        wire = Wire(cloud)
        while not stop.is_set():
            started = time.monotonic()
            try:
                reply = wire.call("one.system.version", admin_session)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                wire.close()
            else:
                if not succeeded(reply):
                    failures.append(reply.brief())
            latencies.append(time.monotonic() - started)
            time.sleep(0.01)
        wire.close()

    def abuse() -> None:
        try:
            for label, (make, expected) in RAW.items():
                found = [reply.summary() for reply in responses(exchange(cloud, make(admin_session, limit)))]
                if found != list(expected):
                    failures.append(f"{label}: {found}")
            wire = Wire(cloud)
            for value in (STRINGS["1MiB"], STRINGS["long-unicode"]):
                for method in ("one.vm.allocate", "one.template.allocate"):
                    problem = shape_problem(method, wire.call(method, admin_session, value))
                    if problem:
                        failures.append(f"{method}: {problem}")
            wire.close()
        except Exception as exc:  # noqa: BLE001 - a thread's exception would go unseen
            failures.append(f"abuse: {exc!r}")

    idle = [socket.create_connection((host, port), timeout=CALL_TIMEOUT) for _ in range(20)]
    stalled = socket.create_connection((host, port), timeout=CALL_TIMEOUT)  # promises a body it never sends
    stalled.sendall(post(b"<methodCall>", b"Content-Length: 100000", length=False))
    watcher = threading.Thread(target=watch)
    abusers = [threading.Thread(target=abuse) for _ in range(3)]

    def trickle() -> None:
        try:
            reply = slow_request(cloud, admin_session, 2.0)
        except Exception as exc:  # noqa: BLE001 - a thread's exception would go unseen
            failures.append(f"slow request: {exc!r}")
        else:
            if not succeeded(reply):
                failures.append(f"slow request: {reply.brief()}")

    slow = threading.Thread(target=trickle)
    try:
        watcher.start()
        for thread in (*abusers, slow):
            thread.start()
        for thread in (*abusers, slow):
            thread.join(timeout=120)
            assert not thread.is_alive(), "a hostile client got no answer in two minutes"
    finally:
        stop.set()
        watcher.join(timeout=30)
        for sock in (*idle, stalled):
            sock.close()
    assert not failures, failures[:10]
    assert len(latencies) >= 20 and max(latencies) < 5.0, (len(latencies), max(latencies, default=None))
    wire = Wire(cloud)
    reply = wire.call("one.vmpool.info", admin_session, -2, -1, -1, -1)
    wire.close()
    assert succeeded(reply), reply.brief()
    no_tracebacks(logged)
