"""docs/api.md, written from the method table: names, arguments, who may call, what each does.

    python -m nebula_core.api.reference > docs/api.md

The table is the single source of truth; a test fails when docs/api.md is not what this prints.
"""

from __future__ import annotations

import itertools
import sys
from types import SimpleNamespace
from typing import Any

from ..config import load
from ..errors import ErrorCode
from . import methods
from .rpc import NO_DEFAULT, Method, MethodTable, Param

TYPE_LETTERS = {int: "i", str: "s", bool: "b", list: "A"}
INTRO = """\
# API reference

Generated from the method table by `python -m nebula_core.api.reference > docs/api.md`; do not
edit by hand. Every method takes the session string `user:password` (or `user:token`) first, then
the arguments below (`i` integer, `s` string, `b` boolean, `A` array; `=x` marks an optional one
and its default). Extra trailing arguments are ignored, as oned does.

Replies are `[true, value, 0]`, or `[false, "[method] message", code, object id or -1, -1]` with
OpenNebula's codes:

| code | name | when |
| --- | --- | --- |
"""
CODE_USES = {
    ErrorCode.AUTHENTICATION: "the session is wrong (every method)",
    ErrorCode.AUTHORIZATION: "the caller lacks the right named under *who may call*",
    ErrorCode.NO_EXISTS: "the object id (or name) names nothing",
    ErrorCode.ACTION: "the object's state does not allow it, or the request contradicts what exists",
    ErrorCode.RPC_API: "an argument has a value outside its range (filter flags, status codes ...)",
    ErrorCode.INTERNAL: "a template does not parse or lacks what it needs, or an unexpected failure",
    ErrorCode.ALLOCATE: "a new object cannot be made (duplicate name, bad address range ...)",
    ErrorCode.LOCKED: "the object is locked at the level the method needs",
}
HEADER = "| method | arguments | who may call | errors | what it does |\n| --- | --- | --- | --- | --- |\n"
FAULTS = """
A call the XML-RPC layer cannot take is an XML-RPC fault instead: -500 no arguments at all,
-501 too few arguments or one of the wrong type, -503 a body that is not XML-RPC, -506 an
unknown method. Bodies above `api.max_request_bytes` get HTTP 413.
"""


def argument(param: Param) -> str:
    text = f"{TYPE_LETTERS[param.type]} {param.name}"
    if param.default is NO_DEFAULT:
        return text
    default = str(param.default).lower() if isinstance(param.default, bool) else repr(param.default).replace("'", '"')
    return f"{text}={default}"


def errors(method: Method) -> str:
    codes = ["AUTHENTICATION"] if method.authenticated else []
    if not method.access.startswith("any user"):
        codes.append("AUTHORIZATION")
    if method.params and method.params[0].name in ("id", "username"):
        codes.append("NO_EXISTS")
    return ", ".join(codes)


def row(method: Method) -> str:
    args = ", ".join(argument(p) for p in method.params) or "–"
    doc = " ".join(method.doc.split()).replace("|", "\\|")
    return f"| `{method.name}` | {args} | {method.access} | {errors(method)} | {doc} |"


def document(table: MethodTable) -> str:
    parts = [INTRO]
    parts += [f"| {int(code)} (0x{int(code):x}) | {code.name} | {CODE_USES[code]} |\n" for code in ErrorCode]
    parts.append(FAULTS)
    by_prefix = itertools.groupby(sorted(table.methods.values(), key=lambda m: m.name), key=lambda m: m.name.split(".")[1])
    for prefix, group in by_prefix:
        parts.append(f"\n## one.{prefix}.*\n\n{HEADER}")
        parts += [row(m) + "\n" for m in group]
    return "".join(parts)


def method_table() -> MethodTable:
    """The table a daemon serves, built without starting one (handlers are only registered)."""
    stand_in: Any = SimpleNamespace(db=None, engine=None, auth=None, scheduler=None, monitor=None, config=load(None, {}))
    return methods.build(stand_in)


if __name__ == "__main__":
    sys.stdout.write(document(method_table()))
