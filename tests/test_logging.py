"""Logs: text for a person at a terminal in development; JSON in production or when stderr is not a terminal."""

from __future__ import annotations

import io
import os
import pty
import sys

import pytest

from service.kernel import telemetry
from service.kernel.settings import Environment, LogFormat, Settings


def test_a_terminal_gets_text_in_development_and_json_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    controller, terminal = pty.openpty()
    try:
        with os.fdopen(terminal, "w") as tty:
            monkeypatch.setattr(sys, "stderr", tty)
            assert telemetry.log_format(Settings()) is LogFormat.TEXT
            assert telemetry.log_format(Settings(environment=Environment.PRODUCTION)) is LogFormat.JSON
            assert telemetry.log_format(Settings(log_format=LogFormat.JSON)) is LogFormat.JSON
    finally:
        os.close(controller)


def test_a_pipe_or_file_gets_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert telemetry.log_format(Settings()) is LogFormat.JSON
    assert telemetry.log_format(Settings(log_format=LogFormat.TEXT)) is LogFormat.TEXT
    assert Settings.from_env({"ALWAYS_HOPE_LOG_FORMAT": "text"}).log_format is LogFormat.TEXT
