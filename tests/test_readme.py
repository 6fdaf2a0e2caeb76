"""The README is the user's manual: every command in it must exist as written. Shell blocks and inline commands are
read out of README.md; each `.venv/bin/always-hope …` is parsed by the CLI's own parser (placeholders filled in),
`--help` ones are run, the rest is checked against the repository (files, extras, flags)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from service.cli import parser
from service.kernel.settings import PRODUCTION_REQUIRED

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI = ".venv/bin/always-hope"
SUBCOMMANDS = ("serve", "migrate", "tenants", "token", "reporting")
# What a placeholder in the prose stands for, so the parser sees a real value.
PLACEHOLDERS = {"SLUG": "north-east", "SLUG…": "north-east", "NAME": "North East", "FILE": "export.jsonl",
                "N": "2", "CODE=KIND:NAME": "BSI=prison:HMP Brinsford", "SUBJECT": "sub-1"}


def shell_commands() -> list[list[str]]:
    """Every command of every ```sh block: continuation lines joined, comments dropped, `&&` chains split."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                end = words.index("&&") if "&&" in words else len(words)
                commands.append(words[:end])
                words = words[end + 1:]
    return commands


def inline_commands() -> list[list[str]]:
    """Commands quoted in the prose and tables: `.venv/bin/always-hope …` and bare `tenants …` (the lifecycle table,
    whose header names the program)."""
    found = []
    for span in re.findall(r"`([^`\n]+)`", README):
        if span.startswith("tenants ") and span.split()[1].isalpha():
            span = f"{CLI} {span}"
        if not span.startswith(f"{CLI} ") or span == f"{CLI} …":
            continue
        span = re.sub(r"\[([^\]]*)\]", r"\1", span)  # optional parts: check them too
        span = re.sub(r"\b([a-z-]+)(\|[a-z-]+)+", r"\1", span)  # alternatives: the first
        found.append([PLACEHOLDERS.get(word, word) for word in shlex.split(span)])
    return found


def parses(argv: list[str]) -> None:
    """argparse exits with 2 on anything it does not accept (and 0 after printing --help)."""
    out = io.StringIO()
    code: object = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            parser().parse_args(argv)
        except SystemExit as exc:
            code = exc.code
    assert code == 0, f"{CLI} {shlex.join(argv)}: {out.getvalue()}"


def test_the_readme_has_commands_to_check() -> None:
    assert len([c for c in shell_commands() if c[0] == CLI]) >= 10
    assert len(inline_commands()) >= 10


@pytest.mark.parametrize("argv", [c[1:] for c in shell_commands() + inline_commands() if c[0] == CLI],
                         ids=lambda argv: " ".join(argv)[:60])
def test_every_cli_command_in_the_readme_is_one_the_cli_accepts(argv: list[str]) -> None:
    parses(argv)


def test_the_help_commands_run() -> None:
    for argv in (c for c in inline_commands() if c[-1] == "--help"):
        done = subprocess.run([sys.executable, "-m", "service", *argv[1:]], capture_output=True, text=True,
                              timeout=60, check=True)
        assert "usage: always-hope" in done.stdout


def test_every_other_shell_command_exists() -> None:
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for command in shell_commands():
        words = [w for w in command if not re.match(r"^[A-Z_]+=", w)]  # VAR=value prefixes
        if words[0] == CLI:
            continue
        if words[:3] == ["python3", "-m", "venv"] or words[:3] == [".venv/bin/python", "-m", "pytest"]:
            continue
        if words[:3] == [".venv/bin/pip", "install", "-e"]:
            wanted = set(re.fullmatch(r"\.\[([a-z,]+)\]", words[3]).group(1).split(","))  # type: ignore[union-attr]
            assert wanted <= extras, words
            continue
        if words[0] == ".venv/bin/python" and words[1].startswith("bench/"):
            script = ROOT / words[1]
            assert script.is_file(), words
            for flag in (w for w in words[2:] if w.startswith("--")):
                assert f'"{flag}"' in script.read_text(), f"{script.name} has no {flag}"
            continue
        pytest.fail(f"the README runs {shlex.join(command)!r}, which this test does not know how to check")


def test_the_cli_is_invoked_one_way_throughout() -> None:
    """In prose and shell blocks; a diagram (a fence with no language) may name the program's subcommands."""
    kept, fence = [], None
    for line in README.splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence in (None, "sh"):
            kept.append(line)
    text = "\n".join(kept)
    for match in re.finditer(rf"(?<![\w/.-])always-hope ({'|'.join(SUBCOMMANDS)})\b", text):
        assert "image" in text[max(0, match.start() - 40):match.start()], text[match.start() - 60:match.end()]


def test_production_settings_are_listed_once_as_the_code_enforces_them() -> None:
    listed = re.findall(r"\*\*Required in production\*\*[^:]*:([^.]*)\.", README, flags=re.DOTALL)
    assert len(listed) == 1
    assert re.findall(r"`([A-Z_]+)`", listed[0]) == list(PRODUCTION_REQUIRED)
    assert "Required settings:" not in README


def test_the_readme_points_only_inside_the_repository() -> None:
    assert "../" not in README
    for path in set(re.findall(r"`((?:docs|deploy|bench|service|helm|graphql)/[\w./-]+)`", README)):
        assert (ROOT / path).exists(), path
