"""REQUIREMENTS / RANK expressions (nebula_core.scheduler.expr), OpenNebula 7.4 semantics."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nebula_core.scheduler.expr import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    HostValue,
    Lookup,
    compile_rank,
    compile_requirements,
)


def host(**values: HostValue) -> Lookup:
    return values.get


def requires(text: str, **values: HostValue) -> bool:
    return compile_requirements(text)(host(**values))


def rank(text: str, **values: HostValue) -> int:
    return compile_rank(text)(host(**values))


# --- REQUIREMENTS: comparisons ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_blank_requirements_accept_every_host(text: str) -> None:
    assert requires(text) is True


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("X = 5", 5, True),
        ("X = 5", 6, False),
        ("X != 5", 6, True),
        ("X != 5", 5, False),
        ("X ! = 5", 6, True),
        ("X > 5", 6, True),
        ("X > 5", 5, False),
        ("X < 5", 4, True),
        ("X < 5", 5, False),
        ("X = 1.5", 1.5, True),
        ("X > 1.5", 1.25, False),
        ("X < 0.5", 0, True),
        ("X > -5", -4, True),
        ("X < -5", -4, False),
        ("X = -2.5", -2.5, True),
        ("X = 5", 5.0, True),
        ("X = 5.0", 5, True),
    ],
)
def test_numeric_comparisons(text: str, value: float, expected: bool) -> None:
    assert requires(text, X=value) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("FREE_CPU > 100", "800", True),
        ("FREE_CPU < 100", "800", False),
        ("FREE_CPU = 800", "800", True),
        ("FREE_CPU = 800", " 800 ", True),
        ("FREE_CPU != 800", "800", False),
        ("FREE_CPU > 1.5", "1.75", True),
        ("FREE_CPU = 800", "800.0", True),
        ("FREE_CPU < 0", "-3", True),
    ],
)
def test_numeric_comparison_converts_string_host_values(
    text: str, value: str, expected: bool
) -> None:
    assert requires(text, FREE_CPU=value) is expected


@pytest.mark.parametrize("text", ["X = 5", "X != 5", "X > 5", "X < 5", "X @> 5"])
@pytest.mark.parametrize("value", ["kvm", "", "nan", "inf", "5abc"])
def test_numeric_comparison_with_non_numeric_host_value_is_false(text: str, value: str) -> None:
    assert requires(text, X=value) is False


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('HYPERVISOR = "kvm"', "kvm", True),
        ('HYPERVISOR = "kvm"', "kvm2", False),
        ('HYPERVISOR = "kvm"', "KVM", False),
        ('HYPERVISOR = "kvm*"', "kvm-qemu", True),
        ('HYPERVISOR = "kvm*"', "qemu-kvm", False),
        ('HYPERVISOR = "*kvm*"', "qemu-kvm", True),
        ('HYPERVISOR = "kv?"', "kvm", True),
        ('HYPERVISOR = "kv?"', "kvmm", False),
        ('HYPERVISOR = "[kx]vm"', "xvm", True),
        ('HYPERVISOR = "[!k]vm"', "kvm", False),
        ('HYPERVISOR = "[a-c]*"', "bhyve", True),
        ('HYPERVISOR != "kvm*"', "lxc", True),
        ('HYPERVISOR != "kvm*"', "kvm", False),
        ("HYPERVISOR = kvm", "kvm", True),
        ("HYPERVISOR = kvm", "lxc", False),
        ("HYPERVISOR != kvm", "lxc", True),
        ('NAME = ""', "", True),
        ('NAME = ""', "x", False),
        ('NAME != ""', "x", True),
        ('NAME = "host 1"', "host 1", True),
        ('NAME = "a.b"', "axb", False),
    ],
)
def test_glob_comparisons(text: str, value: str, expected: bool) -> None:
    assert requires(text, HYPERVISOR=value, NAME=value) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('ID = "1*"', 12, True),
        ('ID = "3"', 3, True),
        ('ID = "1.*"', 1.5, True),
        ("ID = 3", "3", True),
    ],
)
def test_glob_against_numeric_host_value_uses_its_text(
    text: str, value: float | str, expected: bool
) -> None:
    assert requires(text, ID=value) is expected


@pytest.mark.parametrize(
    "text",
    ["X = 1", "X != 1", "X > 1", "X < 1", 'X = "*"', 'X != "a"', "X != a", "X @> 1", 'X @> "*"'],
)
def test_missing_variable_fails_every_comparison(text: str) -> None:
    assert requires(text) is False
    assert requires(f"!({text})") is True


def test_variable_names_are_case_sensitive() -> None:
    assert requires("cpu = 1", cpu=1) is True
    assert requires("CPU = 1", cpu=1) is False


# --- multi-valued variables ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("DS @> 100", ["0", "100", "101"], True),
        ("DS @> 7", ["0", "100", "101"], False),
        ("DS @> 1.5", ["x", "1.5"], True),
        ('DS @> "ssd*"', ["hdd0", "ssd1"], True),
        ('DS @> "nvme*"', ["hdd0", "ssd1"], False),
        ("DS @> ssd1", ["hdd0", "ssd1"], True),
        ("DS @> 1", [], False),
        ("DS @> 100", "100", True),
        ("DS @> 100", 100, True),
        ('DS @> "1*"', 100, True),
        ("DS @> 100", "101", False),
    ],
)
def test_contains_matches_any_value(text: str, values: HostValue, expected: bool) -> None:
    assert requires(text, DS=values) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("DS = 0", True), ("DS = 100", False), ("DS > 50", False), ('DS != "1*"', True)],
)
def test_plain_operators_use_first_value(text: str, expected: bool) -> None:
    assert requires(text, DS=["0", "100"]) is expected


def test_empty_multi_valued_variable_counts_as_missing() -> None:
    assert requires("DS = 0", DS=[]) is False
    assert requires("DS != 0", DS=[]) is False
    assert rank("DS + 1", DS=[]) == 1


# --- REQUIREMENTS: logic, precedence and associativity ------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T = 1 & T = 1", True),
        ("T = 1 & F = 1", False),
        ("F = 1 | T = 1", True),
        ("F = 1 | F = 1", False),
        ("!(T = 1)", False),
        ("!F = 1", True),
        ("!!T = 1", True),
        # one precedence level, left-associative: (T | T) & F, not T | (T & F)
        ("T = 1 | T = 1 & F = 1", False),
        ("T = 1 | (T = 1 & F = 1)", True),
        # (F & F) | T, not F & (F | T)
        ("F = 1 & F = 1 | T = 1", True),
        ("F = 1 & (F = 1 | T = 1)", False),
        # ! binds to the next factor only: (!(T = 1)) | T
        ("! T = 1 | T = 1", True),
        ("!(T = 1 | T = 1)", False),
        ("((T = 1))", True),
    ],
)
def test_logic_precedence_and_associativity(text: str, expected: bool) -> None:
    assert requires(text, T=1, F=0) is expected


def test_not_applies_to_the_next_comparison_only() -> None:
    # (!(X = 1)) & (Y = 2), not !(X = 1 & Y = 2)
    assert requires("! X = 1 & Y = 2", X=2, Y=3) is False
    assert requires("!(X = 1 & Y = 2)", X=2, Y=3) is True


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"FREE_CPU": "800", "HYPERVISOR": "kvm", "ID": 3}, True),
        ({"FREE_CPU": "50", "HYPERVISOR": "kvm", "ID": 4}, True),
        ({"FREE_CPU": "50", "HYPERVISOR": "kvm", "ID": 3}, False),
        ({"FREE_CPU": "800", "HYPERVISOR": "lxc", "ID": 3}, False),
        ({"FREE_CPU": "800", "HYPERVISOR": "lxc"}, True),
    ],
)
def test_spec_example(values: Mapping[str, HostValue], expected: bool) -> None:
    text = 'FREE_CPU > 100 & HYPERVISOR = "kvm*" | !(ID = 3)'
    assert compile_requirements(text)(host(**values)) is expected


def test_automatic_requirements() -> None:
    check = compile_requirements("(CLUSTER_ID = 0) & !(PIN_POLICY = PINNED)")
    assert check(host(CLUSTER_ID="0")) is True
    assert check(host(CLUSTER_ID="0", PIN_POLICY="PINNED")) is False
    assert check(host(CLUSTER_ID="1")) is False


def test_whitespace_is_optional() -> None:
    assert requires('X=1&Y!="a*"|Z@>2', X=1, Y="b", Z=["1", "2"]) is True


def test_long_flat_chain_evaluates_without_recursion() -> None:
    text = " & ".join(["X = 1"] * 5000)
    assert len(text) < MAX_LENGTH
    assert requires(text, X=1) is True
    assert requires(text + " & X = 2", X=1) is False


def test_evaluation_over_many_hosts() -> None:
    """The case bench/parsers.py times; here only the answer is checked."""
    check = compile_requirements('FREE_CPU > 100 & HYPERVISOR = "kvm*" | !(ID = 3)')
    lookups = [host(FREE_CPU=str(i), HYPERVISOR="kvm", ID=i % 5) for i in range(1000)]
    accepted = sum(check(lookup) for lookup in lookups)
    assert accepted == 899 + 81  # FREE_CPU > 100, plus the hosts at or below 100 with ID != 3


def test_compiled_expressions_keep_source_and_compare_by_it() -> None:
    assert compile_requirements("X = 1").source == "X = 1"
    assert compile_rank("X").source == "X"
    assert compile_requirements("X = 1") == compile_requirements("X = 1")
    assert compile_rank("X") != compile_rank("Y")


# --- RANK ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "  "])
def test_blank_rank_is_zero(text: str) -> None:
    assert rank(text, X=5) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RUNNING_VMS", 4),
        ("-RUNNING_VMS", -4),
        ("- RUNNING_VMS", -4),
        ("FREE_CPU", 800),
        ("FREE_CPU * 2 + 1", 1601),
        ("42", 42),
        ("-42", -42),
        ("7/2", 3),
        ("-7/2", -3),
        ("7.9", 7),
        ("-7.9", -7),
        ("0.5 + 0.5", 1),
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 * 3 + 4 * 5", 26),
        ("10 - 4 - 3", 3),
        ("10 - (4 - 3)", 9),
        ("100 / 10 / 5", 2),
        ("100 / (10 / 5)", 50),
        ("--3", 3),
        ("2 * -3", -6),
        ("2 - -3", 5),
        ("FREE_CPU-5", 795),
        ("FREE_MEMORY / 1024", 2),
        ("1 / 3 * 3", 1),
        ("RUNNING_VMS / 0", 0),
        ("1 + RUNNING_VMS / 0", 1),
        ("0 / 0", 0),
        ("MISSING", 0),
        ("MISSING * 3 + 1", 1),
        ("NAME + 1", 1),
        ("LIST + 1", 8),
        ("LOAD * 10", 15),
    ],
)
def test_rank_arithmetic(text: str, expected: int) -> None:
    values: dict[str, HostValue] = {
        "RUNNING_VMS": "4",
        "FREE_CPU": 800,
        "FREE_MEMORY": "2560",
        "NAME": "host01",
        "LIST": ["7", "9"],
        "LOAD": 1.5,
    }
    assert compile_rank(text)(values.get) == expected


def test_rank_overflow_yields_zero() -> None:
    huge = "9" * 400
    assert rank(f"{huge} * 10") == 0
    assert rank(f"{huge} - {huge}") == 0


def test_rank_returns_int() -> None:
    assert type(rank("7 / 2")) is int


# --- syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("X >= 5", 2, "write !(X < ...)"),
        ("FREE_CPU <= 5", 9, "write !(FREE_CPU > ...)"),
        ("X = ", 4, "unexpected end of expression, expecting a number"),
        ("= 5", 0, "unexpected '=', expecting a variable"),
        ("X 5", 2, "unexpected '5', expecting '=', '!=', '>', '<' or '@>'"),
        ("X = 1 &", 7, "unexpected end of expression"),
        ("X = 1 Y = 2", 6, "unexpected 'Y', expecting '&', '|' or end of expression"),
        ("(X = 1", 6, "expecting '&', '|' or ')'"),
        ("X = 1)", 5, "unexpected ')'"),
        ('X > "a"', 4, "unexpected '\"a\"', expecting a number"),
        ("X > kvm", 4, "expecting a number"),
        ("X ! 1", 4, "expecting '=' (as in '!=')"),
        ("X = 1 # c", 6, "unexpected '#'"),
        ('X = "abc', 4, "unterminated string"),
        ("X @ 1", 2, "unexpected '@'"),
        ("X = 1.", 5, "unexpected '.'"),
        ("X = 1 && Y = 2", 7, "unexpected '&'"),
        ("X == 1", 3, "unexpected '='"),
        ("X = - a", 6, "expecting a number"),
        ("X = 1 & ()", 9, "unexpected ')'"),
    ],
)
def test_requirements_syntax_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_requirements(text)
    assert caught.value.position == position
    assert str(caught.value).startswith(f"syntax error at column {position + 1}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("1 +", 3, "unexpected end of expression, expecting a number, a variable"),
        ("2 3", 2, "unexpected '3', expecting '+', '-', '*', '/' or end of expression"),
        ("X = 1", 2, "unexpected '='"),
        ("X ^ 2", 2, "unexpected '^'"),
        ("(1 + 2", 6, "expecting '+', '-', '*', '/' or ')'"),
        ("1 + )", 4, "unexpected ')'"),
        ('"a" + 1', 0, "unexpected '\"a\"'"),
        ("* 2", 0, "unexpected '*'"),
    ],
)
def test_rank_syntax_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_rank(text)
    assert caught.value.position == position
    assert fragment in str(caught.value)


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


# --- hostile input ------------------------------------------------------------------------


def test_nesting_up_to_the_bound_is_accepted() -> None:
    assert requires("(" * MAX_DEPTH + "X = 1" + ")" * MAX_DEPTH, X=1) is True
    assert rank("(" * MAX_DEPTH + "X" + ")" * MAX_DEPTH, X=3) == 3
    assert rank("-" * MAX_DEPTH + "3") == 3


@pytest.mark.parametrize(
    ("compile_", "text"),
    [
        (compile_requirements, "(" * 100 + "X = 1" + ")" * 100),
        (compile_requirements, "!" * 100 + "X = 1"),
        (compile_requirements, "!(" * 30_000),
        (compile_rank, "(" * 100 + "1" + ")" * 100),
        (compile_rank, "-" * 60_000 + "1"),
    ],
)
def test_deep_nesting_is_rejected(compile_: Callable[[str], object], text: str) -> None:
    with pytest.raises(ExpressionError, match="nested too deeply") as caught:
        compile_(text)
    assert caught.value.position <= 2 * (MAX_DEPTH + 1)


def test_over_long_text_is_rejected() -> None:
    text = "X = 1" + " " * MAX_LENGTH
    with pytest.raises(ExpressionError, match="longer than") as caught:
        compile_requirements(text)
    assert caught.value.position == MAX_LENGTH
    with pytest.raises(ExpressionError, match="longer than"):
        compile_rank("1" + " " * MAX_LENGTH)


def test_hostile_globs_compile_and_match_quickly() -> None:
    pattern = "*a" * 20_000 + "[z-a][!][" + "*"
    check = compile_requirements(f'X = "{pattern}"')
    assert check(host(X="a" * 10_000 + "b")) is False  # returns at all: a backtracking glob would not


_PIECES = [
    "X", "Y", "FREE_CPU", "=", "!", "!=", ">", "<", ">=", "@>", "@", "&", "|", "(", ")",
    "+", "-", "*", "/", "^", "1", "-2", "3.5", '"k*"', '""', '"', " ", "[", "é", "\x00",
]


@dataclass(frozen=True)
class _Host:
    values: Mapping[str, HostValue]

    def __call__(self, name: str) -> HostValue | None:
        return self.values.get(name)


_ANY_HOST = _Host({"X": "1", "Y": ["a", "2"], "FREE_CPU": 100.5})
_token_soup = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@given(st.one_of(st.text(max_size=200), _token_soup))
def test_arbitrary_text_only_raises_expression_error(text: str) -> None:
    for compile_ in (compile_requirements, compile_rank):
        try:
            compiled = compile_(text)
        except ExpressionError as error:
            assert 0 <= error.position <= len(text)
        else:
            compiled(_ANY_HOST)
            compiled(host())


# --- RANK against a Python reference ------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    text: str
    value: float


@dataclass(frozen=True)
class _Neg:
    operand: _Tree


@dataclass(frozen=True)
class _Bin:
    op: str
    left: _Tree
    right: _Tree


_Tree = _Leaf | _Neg | _Bin
_VARIABLES: dict[str, HostValue] = {"A": "7", "B": -3, "C": 2.5, "D": "none", "E": ["4", "x"]}
_VARIABLE_VALUES = {"A": 7.0, "B": -3.0, "C": 2.5, "D": 0.0, "E": 4.0, "M": 0.0}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}

_leaves = st.one_of(
    st.integers(0, 1000).map(lambda n: _Leaf(str(n), float(n))),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(
        lambda p: _Leaf(f"{p[0]}.{p[1]}", float(f"{p[0]}.{p[1]}"))
    ),
    st.sampled_from(sorted(_VARIABLE_VALUES)).map(lambda n: _Leaf(n, _VARIABLE_VALUES[n])),
)
_trees: st.SearchStrategy[_Tree] = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        inner.map(_Neg),
        st.builds(_Bin, st.sampled_from(sorted(_PRECEDENCE)), inner, inner),
    ),
    max_leaves=25,
)


def _precedence(tree: _Tree) -> int:
    return _PRECEDENCE[tree.op] if isinstance(tree, _Bin) else 3


def _render(tree: _Tree) -> str:
    """Write the tree with only the parentheses precedence and left-associativity require."""
    if isinstance(tree, _Leaf):
        return tree.text
    if isinstance(tree, _Neg):
        inner = _render(tree.operand)
        return f"-({inner})" if isinstance(tree.operand, _Bin) else f"- {inner}"
    level = _PRECEDENCE[tree.op]
    left = _render(tree.left)
    right = _render(tree.right)
    if _precedence(tree.left) < level:
        left = f"({left})"
    if _precedence(tree.right) <= level:
        right = f"({right})"
    return f"{left} {tree.op} {right}"


def _reference(tree: _Tree) -> float:
    if isinstance(tree, _Leaf):
        return tree.value
    if isinstance(tree, _Neg):
        return -_reference(tree.operand)
    left, right = _reference(tree.left), _reference(tree.right)
    if tree.op == "+":
        return left + right
    if tree.op == "-":
        return left - right
    if tree.op == "*":
        return left * right
    return left / right if right else 0.0


@given(_trees)
def test_rank_matches_python_reference(tree: _Tree) -> None:
    expected = _reference(tree)
    truncated = int(expected) if math.isfinite(expected) else 0
    assert compile_rank(_render(tree))(_VARIABLES.get) == truncated
