"""CSV for people who open it in a spreadsheet: the one rule every CSV download applies to its text cells."""

from __future__ import annotations


def safe_cell(text: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula; labels and logins are text, so neutralise
    that (a leading apostrophe, which spreadsheets hide)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
