"""The committed contract in graphql/ is what the code serves."""

from __future__ import annotations

from pathlib import Path

from service.app.schema import export_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "graphql" / "schema.graphql").read_text()
    assert committed == export_sdl(), (
        "graphql/schema.graphql is out of date: run `python -m service.app.export > graphql/schema.graphql`")


def test_graphql_folder_holds_no_python() -> None:
    # A package named graphql would shadow graphql-core, which strawberry imports.
    assert not list((ROOT / "graphql").rglob("*.py"))
