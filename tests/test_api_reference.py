"""docs/api.md is the method table, and the table says for every method what it does and who may call it."""

from __future__ import annotations

from pathlib import Path

from nebula_core.api.reference import document, method_table

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_docs_api_md_is_generated_from_the_table() -> None:
    assert DOC.read_text() == document(method_table()), (
        "docs/api.md is stale: run .venv/bin/python -m nebula_core.api.reference > docs/api.md")


def test_every_method_is_documented() -> None:
    table = method_table()
    assert len(table.methods) > 70
    undocumented = [m.name for m in table.methods.values() if not m.doc or not m.access]
    assert undocumented == []
    assert all(f"`{name}`" in DOC.read_text() for name in table.methods)
