"""REQUIREMENTS and RANK expressions, compiled once and evaluated per host.

The scheduler filters hosts with a boolean REQUIREMENTS expression and orders the survivors
by an arithmetic RANK, using OpenNebula 7.4's grammar (OPENNEBULA.md section 7.1). A
recursive-descent parser turns the text into a tree of closures once, so scoring thousands
of hosts costs a few calls per host and never re-parses. Any text either compiles or raises
ExpressionError: length and nesting are bounded so hostile templates cannot exhaust the stack.

Deliberate choices where the C++ original is unhelpful or undefined:

* ``-`` is always an operator token, so ``FREE_CPU-5`` is a subtraction (OpenNebula's lexer
  reads ``-5`` as a literal and rejects the text); negative literals still work everywhere.
* A RANK division by zero yields 0 for that division; a RANK that overflows to infinity or
  NaN yields 0.
* Host values that are not finite numbers (``"abc"``, ``"nan"``) are non-numeric.
"""

from __future__ import annotations

import fnmatch
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, NoReturn, TypeAlias

__all__ = [
    "MAX_DEPTH", "MAX_LENGTH", "ExpressionError", "HostValue", "Lookup", "Rank", "Requirements",
    "compile_rank", "compile_requirements",
]

HostValue: TypeAlias = str | int | float | Sequence[str]
"""A host attribute; a Sequence is a multi-valued variable (one value per matching element)."""
Lookup: TypeAlias = Callable[[str], HostValue | None]
"""Resolves a variable name, exactly as written in the expression, to a value or None if missing."""

MAX_LENGTH = 64 * 1024
"""Longest accepted expression text, so a hostile template cannot make compilation slow."""
MAX_DEPTH = 64
"""Deepest accepted nesting of ``(``, ``!`` and unary ``-``, so recursion stays bounded."""

_Scalar: TypeAlias = str | int | float
_Predicate: TypeAlias = Callable[[Lookup], bool]
_Arithmetic: TypeAlias = Callable[[Lookup], float]
_Test: TypeAlias = Callable[[_Scalar], bool]

_TOKEN = re.compile(
    r"""\s+
    | (?P<number>[0-9]+(?:\.[0-9]+)?)
    | (?P<name>[A-Za-z][A-Za-z0-9_]*)
    | (?P<string>"[^"]*")
    | (?P<op>@>|[!&|=<>()*+/-])
    | (?P<bad>.)""",
    re.VERBOSE | re.DOTALL,
)
# Comparison operators by their first token ("!" stands for "!=").
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "@>": operator.eq,
    "!": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": lambda a, b: a / b if b else 0.0,
}


class ExpressionError(ValueError):
    """Raised for text that does not compile; ``position`` (0-based) lets a caller point at it.

    The message shows the 1-based column, as editors do.
    """

    position: int

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"syntax error at column {position + 1}: {message}")
        self.position = position


@dataclass(frozen=True)
class Requirements:
    """A compiled REQUIREMENTS expression: call it with a host's lookup to filter the host."""

    source: str
    _predicate: _Predicate = field(repr=False, compare=False)

    def __call__(self, lookup: Lookup) -> bool:
        return self._predicate(lookup)


@dataclass(frozen=True)
class Rank:
    """A compiled RANK expression: call it with a host's lookup; the highest rank wins."""

    source: str
    _arithmetic: _Arithmetic = field(repr=False, compare=False)

    def __call__(self, lookup: Lookup) -> int:
        value = self._arithmetic(lookup)
        return int(value) if math.isfinite(value) else 0


def compile_requirements(text: str) -> Requirements:
    """Compile a REQUIREMENTS expression; blank text accepts every host, as in OpenNebula."""
    parser = _Parser(text)
    if parser.at_end():
        return Requirements(text, lambda _lookup: True)
    predicate = parser.boolean(0)
    parser.expect("end", "'&', '|' or end of expression")
    return Requirements(text, predicate)


def compile_rank(text: str) -> Rank:
    """Compile a RANK expression; blank text ranks every host 0, as in OpenNebula."""
    parser = _Parser(text)
    if parser.at_end():
        return Rank(text, lambda _lookup: 0.0)
    arithmetic = parser.sum(0)
    parser.expect("end", "'+', '-', '*', '/' or end of expression")
    return Rank(text, arithmetic)


class _Token(NamedTuple):
    kind: str  # "number", "name", "string", "end", or the operator itself
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens = []
    for match in _TOKEN.finditer(text):
        kind, lexeme = match.lastgroup, match.group()
        if kind == "bad":
            hint = " (unterminated string)" if lexeme == '"' else ""
            raise ExpressionError(f"unexpected {lexeme!r}{hint}", match.start())
        if kind is not None:  # None is whitespace
            tokens.append(_Token(lexeme if kind == "op" else kind, lexeme, match.start()))
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over the tokens; ``depth`` arguments bound the recursion."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0

    def at_end(self) -> bool:
        return self._peek().kind == "end"

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _take(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def expect(self, kind: str, expecting: str) -> _Token:
        if self._peek().kind != kind:
            self._fail(expecting)
        return self._take()

    def _fail(self, expecting: str) -> NoReturn:
        token = self._peek()
        found = "end of expression" if token.kind == "end" else repr(token.text)
        raise ExpressionError(f"unexpected {found}, expecting {expecting}", token.position)

    def _check_depth(self, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply", self._peek().position)

    # REQUIREMENTS: boolean := factor (('&' | '|') factor)*, one level, left-associative.

    def boolean(self, depth: int) -> _Predicate:
        first = self._factor(depth)
        rest: list[tuple[bool, _Predicate]] = []
        while self._peek().kind in ("&", "|"):
            rest.append((self._take().kind == "&", self._factor(depth)))
        return _boolean_chain(first, rest) if rest else first

    def _factor(self, depth: int) -> _Predicate:
        self._check_depth(depth)
        kind = self._peek().kind
        if kind == "!":
            self._take()
            inner = self._factor(depth + 1)
            return lambda lookup: not inner(lookup)
        if kind == "(":
            self._take()
            predicate = self.boolean(depth + 1)
            self.expect(")", "'&', '|' or ')'")
            return predicate
        return self._comparison()

    def _comparison(self) -> _Predicate:
        name = self.expect("name", "a variable, '!' or '('").text
        operator_token = self._peek()
        op = operator_token.kind
        if op not in _COMPARISONS:
            self._fail("'=', '!=', '>', '<' or '@>'")
        self._take()
        if op == "!":
            self.expect("=", "'=' (as in '!=')")
        elif op in (">", "<") and self._peek().kind == "=":
            inverse = "<" if op == ">" else ">"
            raise ExpressionError(
                f"unexpected '{op}=', there is no such operator; write !({name} {inverse} ...)",
                operator_token.position,
            )
        operand = self._peek()
        if op not in (">", "<") and operand.kind in ("string", "name"):
            self._take()
            pattern = operand.text[1:-1] if operand.kind == "string" else operand.text
            return _compare(name, _glob_test(pattern, negate=op == "!"), any_value=op == "@>")
        expecting = "a number" if op in (">", "<") else "a number, a \"string\" or a word"
        number = self._number(expecting)
        compare = _COMPARISONS[op]

        def numeric(value: _Scalar) -> bool:
            host = _to_number(value)
            return host is not None and compare(host, number)

        return _compare(name, numeric, any_value=op == "@>")

    def _number(self, expecting: str) -> float:
        sign = -1.0 if self._peek().kind == "-" else 1.0
        if sign < 0:
            self._take()
        return sign * float(self.expect("number", expecting).text)

    # RANK: sum := product (('+' | '-') product)*; product := unary (('*' | '/') unary)*.

    def sum(self, depth: int) -> _Arithmetic:
        return self._chain(depth, ("+", "-"), self._product)

    def _product(self, depth: int) -> _Arithmetic:
        return self._chain(depth, ("*", "/"), self._unary)

    def _chain(
        self, depth: int, operators: tuple[str, str], operand: Callable[[int], _Arithmetic]
    ) -> _Arithmetic:
        first = operand(depth)
        rest: list[tuple[Callable[[float, float], float], _Arithmetic]] = []
        while self._peek().kind in operators:
            rest.append((_ARITHMETIC[self._take().kind], operand(depth)))
        return _arithmetic_chain(first, rest) if rest else first

    def _unary(self, depth: int) -> _Arithmetic:
        self._check_depth(depth)
        token = self._peek()
        if token.kind == "-":
            self._take()
            inner = self._unary(depth + 1)
            return lambda lookup: -inner(lookup)
        if token.kind == "(":
            self._take()
            arithmetic = self.sum(depth + 1)
            self.expect(")", "'+', '-', '*', '/' or ')'")
            return arithmetic
        if token.kind == "number":
            constant = float(self._take().text)
            return lambda _lookup: constant
        name = self.expect("name", "a number, a variable, '-' or '('").text

        def variable(lookup: Lookup) -> float:
            value = _first(lookup(name))
            number = None if value is None else _to_number(value)
            return 0.0 if number is None else number

        return variable


def _to_number(value: _Scalar) -> float | None:
    """Template values often arrive as strings ("800"); anything but a finite number is None."""
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _first(value: HostValue | None) -> _Scalar | None:
    """Plain operators and RANK see the first value of a multi-valued variable."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return value[0] if value else None


def _glob_test(pattern: str, negate: bool) -> _Test:
    # fnmatch.fnmatchcase(name, pattern) is exactly this match; compiling it once saves a
    # cache lookup per host.
    match = re.compile(fnmatch.translate(pattern)).match
    return lambda value: (match(str(value)) is not None) != negate


def _compare(name: str, test: _Test, any_value: bool) -> _Predicate:
    """Apply ``test`` to the variable; a missing variable fails every comparison (7.4)."""
    if any_value:

        def any_matches(lookup: Lookup) -> bool:
            value = lookup(name)
            if value is None:
                return False
            return test(value) if isinstance(value, (str, int, float)) else any(map(test, value))

        return any_matches

    def first_matches(lookup: Lookup) -> bool:
        value = _first(lookup(name))
        return value is not None and test(value)

    return first_matches


def _boolean_chain(first: _Predicate, rest: list[tuple[bool, _Predicate]]) -> _Predicate:
    """Fold a flat left-associative chain iteratively, so long chains cannot overflow the stack."""

    def chain(lookup: Lookup) -> bool:
        result = first(lookup)
        for is_and, operand in rest:
            if result == is_and:  # otherwise `False & x` / `True | x` is already decided
                result = operand(lookup)
        return result

    return chain


def _arithmetic_chain(
    first: _Arithmetic, rest: list[tuple[Callable[[float, float], float], _Arithmetic]]
) -> _Arithmetic:
    """Fold a flat left-associative chain iteratively, like _boolean_chain."""

    def chain(lookup: Lookup) -> float:
        result = first(lookup)
        for apply, operand in rest:
            result = apply(result, operand(lookup))
        return result

    return chain
