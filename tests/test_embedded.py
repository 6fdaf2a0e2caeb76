"""The embedded PostgreSQL: quiet, and as root it changes no permission outside its data directory."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.kernel.embedded import EmbeddedPostgres, EmbeddedPostgresError, _installed_binaries
from service.kernel.settings import Settings

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only when started by root")


@pytest.fixture
def parent() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="always-hope-embedded-"))  # 0700, like a home directory
    yield path
    shutil.rmtree(path, ignore_errors=True)


def modes(paths: list[Path]) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in paths}


def installed_tree() -> list[Path]:
    root = _installed_binaries()
    return [*root.parents, root, *(p for p in root.rglob("*") if not p.is_symlink())]


@as_root
def test_as_root_nothing_outside_the_data_directory_changes(parent: Path) -> None:
    parent.chmod(0o711)  # traversable, as /var/lib is; the server's user must be able to reach the data directory
    data = parent / "data"
    outside = [parent, *parent.parents]
    before = modes(outside) | modes(installed_tree())
    embedded = EmbeddedPostgres(data)
    url = embedded.start()
    try:
        assert url.startswith("postgresql://postgres@/postgres?host=")
        assert (modes(outside) | modes(installed_tree())) == before
        assert stat.S_IMODE((data / "pgdata").stat().st_mode) == 0o700
    finally:
        embedded.stop()


@as_root
def test_as_root_a_data_directory_the_server_cannot_reach_is_refused_not_opened_up(parent: Path) -> None:
    data = parent / "data"
    with pytest.raises(EmbeddedPostgresError, match=f"{parent} is private"):
        EmbeddedPostgres(data).start()
    assert stat.S_IMODE(parent.stat().st_mode) == 0o700


def test_root_keeps_its_data_where_the_project_owns_it() -> None:
    if os.geteuid() == 0:
        assert Settings().data_dir == Path("/var/lib/always-hope")
    else:
        assert Settings().data_dir.is_relative_to(Path.home())


def test_starting_it_warns_about_nothing(tmp_path: Path) -> None:
    """No XDG_RUNTIME_DIR (containers, sudo): the wheel's own Python layer warned about it on every command."""
    data = Path(tempfile.mkdtemp(prefix="always-hope-quiet-"))
    try:
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c",
             "import sys; from pathlib import Path; from service.kernel.embedded import EmbeddedPostgres; "
             "e = EmbeddedPostgres(Path(sys.argv[1])); e.start(); e.stop()", str(data)],
            env=env, capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stderr) == (0, "")
    finally:
        shutil.rmtree(data, ignore_errors=True)
