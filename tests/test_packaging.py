"""The wheel ships only `service` and `tenants`, and carries the migration scripts inside `tenants`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_only_service_and_tenants(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("always_hope-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"service", "tenants", f"{wheel.name.rsplit('-', 3)[0]}.dist-info"}
    shipped = {n.removeprefix("tenants/") for n in names if n.startswith("tenants/alembic/")}
    in_repo = {str(p.relative_to(ROOT)) for p in (ROOT / "alembic").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts}
    assert shipped == in_repo
    assert not any(n.startswith("graphql/") or n.endswith("/graphql/__init__.py") for n in names)
    contract = {n.removeprefix("service/contract/") for n in names if n.startswith("service/contract/")}
    published = {str(p.relative_to(ROOT / "graphql")) for p in (ROOT / "graphql").rglob("*") if p.is_file()}
    assert contract == published
