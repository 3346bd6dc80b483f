"""The method table and the call convention: argument checks, authentication, reply arrays.

A method is declared once with its parameter types; extra trailing arguments are ignored and
missing optional ones take their defaults, as oned does. A missing required argument or a
wrong type is an XML-RPC fault -501; a refusal is ``[false, "[method] message", code, id, -1]``;
success is exactly ``[true, value, 0]``.
"""

from __future__ import annotations

import builtins
import logging
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ErrorCode, NebulaError
from ..users import Principal

log = logging.getLogger(__name__)

TYPE_NAMES = {int: "integer", str: "a string", bool: "boolean", list: "an array"}
NO_DEFAULT = object()
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Param:
    name: str
    type: builtins.type  # the field shadows the builtin inside the class body
    default: Any = NO_DEFAULT
    also: tuple[builtins.type, ...] = ()  # other types tolerated (clients that send the wrong one)


def i(name: str, default: Any = NO_DEFAULT) -> Param:
    return Param(name, int, default)


def s(name: str, default: Any = NO_DEFAULT) -> Param:
    return Param(name, str, default)


def b(name: str, default: Any = NO_DEFAULT) -> Param:
    return Param(name, bool, default)


@dataclass(frozen=True)
class Method:
    name: str
    params: tuple[Param, ...]
    handler: Callable[..., Any]
    doc: str
    access: str  # who may call it, for the API reference: "USE VM", "admins", "any user", ...
    authenticated: bool = True


class MethodTable:
    """Every method the daemon serves: the single source for dispatch and for docs/api.md."""

    def __init__(self) -> None:
        self.methods: dict[str, Method] = {}

    def add(self, name: str, *params: Param, access: str, doc: str = "", authenticated: bool = True) -> Callable[[F], F]:
        """Register a handler; ``doc`` stands in for its docstring when one handler serves several kinds."""
        def register(handler: F) -> F:
            if name in self.methods:
                raise ValueError(f"{name} is registered twice")
            self.methods[name] = Method(name, params, handler, doc or (handler.__doc__ or "").strip(), access, authenticated)
            return handler
        return register


def check_args(method: Method, args: tuple[Any, ...]) -> list[Any]:
    """The arguments after the session, typed and defaulted; raises Fault -501 like xmlrpc-c."""
    values = []
    for index, param in enumerate(method.params):
        if index >= len(args):
            if param.default is NO_DEFAULT:
                raise xmlrpc.client.Fault(-501, "Not enough parameters")
            values.append(param.default)
            continue
        value = args[index]
        wrong_type = type(value) is not param.type and type(value) not in param.also
        if wrong_type or type(value) is int and not INT_MIN <= value <= INT_MAX:  # an <i8> where oned reads 32 bits
            raise xmlrpc.client.Fault(-501, f"Parameter that is supposed to be {TYPE_NAMES[param.type]} is not")
        values.append(value)
    return values


# method, caller (None: not authenticated), code, the reply's value or message
Observer = Callable[[str, "Principal | None", int, Any], None]
SECRETS = frozenset({"password", "token"})  # parameters never shown to observers of calls


def dispatch(table: MethodTable, authenticate: Callable[[object], Principal], name: str, params: tuple[Any, ...],
             observe: Observer | None = None) -> list[Any]:
    """Run one call and shape its reply; never raises anything but an XML-RPC Fault.

    ``observe`` hears of every call with its outcome: 0, OpenNebula's error code, or the fault's.
    """
    try:
        caller, reply = _answer(table, authenticate, name, params)
    except xmlrpc.client.Fault as fault:
        if observe is not None:
            observe(name, None, fault.faultCode, fault.faultString)
        raise
    if observe is not None:
        observe(name, caller, 0 if reply[0] else reply[2], reply[1])
    return reply


def _answer(table: MethodTable, authenticate: Callable[[object], Principal], name: str,
            params: tuple[Any, ...]) -> tuple[Principal | None, list[Any]]:
    method = table.methods.get(name)
    if method is None:
        raise xmlrpc.client.Fault(-506, f"Method '{name}' not defined")
    if not params:
        raise xmlrpc.client.Fault(-500, "Subscript of xmlrpc_c::paramList out of bounds")
    caller = None
    try:
        if type(params[0]) is not str:
            raise xmlrpc.client.Fault(-501, "Parameter that is supposed to be a string is not")
        caller = authenticate(params[0]) if method.authenticated else None
        args = check_args(method, params[1:])
        value = method.handler(caller, *args)
    except xmlrpc.client.Fault:
        raise
    except NebulaError as exc:
        resource_id = exc.resource_id if INT_MIN <= exc.resource_id <= INT_MAX else -1  # an id read from a template
        return caller, [False, f"[{name}] {exc.message}", int(exc.code), resource_id, -1]
    except Exception:
        log.exception("%s failed", name)
        return caller, [False, f"[{name}] Internal error", int(ErrorCode.INTERNAL), -1, -1]
    assert value != "", f"{name} must not return an empty string (pyone cannot read it)"
    return caller, [True, value, 0]


def shown_arguments(table: MethodTable, name: str, params: tuple[Any, ...]) -> tuple[str, ...]:
    """A call's arguments as text for hooks: the session and secret parameters as ``****``,
    booleans as 0/1 (as oned's CALL_INFO shows them)."""
    method = table.methods.get(name)
    names = ["session", *(p.name for p in method.params)] if method else []
    shown = []
    for index, value in enumerate(params):
        secret = index == 0 or (index < len(names) and names[index] in SECRETS)
        shown.append("****" if secret else str(int(value)) if isinstance(value, bool) else str(value))
    return tuple(shown)
