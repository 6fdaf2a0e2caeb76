"""The container image (deploy/Dockerfile) and its entrypoint.

No image is built here (no daemon, no registry): the Dockerfile is read instruction by instruction, and the
entrypoint is run by the system's POSIX shell against a stand-in `always-hope` that records what it was asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"

Instruction = tuple[str, str]


def instructions(dockerfile: Path) -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return result


def stages(dockerfile: Path) -> list[list[Instruction]]:
    """The build stages, each starting with its FROM."""
    result: list[list[Instruction]] = []
    for instruction in instructions(dockerfile):
        if instruction[0] == "FROM":
            result.append([])
        assert result, "the Dockerfile does not start with FROM"
        result[-1].append(instruction)
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[list[Instruction]]:
    return stages(DEPLOY / "Dockerfile")


def args_of(stage: list[Instruction], keyword: str) -> list[str]:
    return [arguments for k, arguments in stage if k == keyword]


def test_every_base_image_is_pinned_to_an_exact_version(dockerfile: list[list[Instruction]]) -> None:
    assert len(dockerfile) >= 2, "the image is built in a builder stage and a runtime stage"
    for stage in dockerfile:
        image = args_of(stage, "FROM")[0].split()[0]
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?", image), image


def test_builder_makes_wheels_and_the_runtime_installs_only_those(dockerfile: list[list[Instruction]]) -> None:
    builder, runtime = dockerfile[0], dockerfile[-1]
    assert any(re.search(r"\bpip wheel\b.*\s\.$", run) for run in args_of(builder, "RUN"))
    installs = [run for run in args_of(runtime, "RUN") if "pip install" in run]
    assert installs
    for run in installs:
        assert "--no-index" in run  # only the builder's wheels, nothing resolved afresh
        assert "[dev]" not in run
        assert "-e " not in run


def test_runtime_runs_as_a_numeric_non_root_user(dockerfile: list[list[Instruction]]) -> None:
    users = args_of(dockerfile[-1], "USER")
    assert users, "the runtime stage never leaves root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), users[-1]
    assert int(uid) > 0, users[-1]
    assert gid == "" or int(gid) > 0, users[-1]


def test_chart_runs_pods_as_the_images_user(dockerfile: list[list[Instruction]]) -> None:
    uid, _, gid = args_of(dockerfile[-1], "USER")[-1].partition(":")
    values = yaml.safe_load((REPO / "helm" / "always-hope" / "values.yaml").read_text())
    assert values["securityContext"] == {"runAsUser": int(uid), "runAsGroup": int(gid or uid)}


def test_exposes_8000_checks_healthz_and_enters_through_the_entrypoint(dockerfile: list[list[Instruction]]) -> None:
    runtime = dockerfile[-1]
    assert args_of(runtime, "EXPOSE") == ["8000"]
    (healthcheck,) = args_of(runtime, "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "CMD" in healthcheck.split()
    (entrypoint,) = args_of(runtime, "ENTRYPOINT")
    (target,) = json.loads(entrypoint)  # exec form, so the server is PID 1 and gets SIGTERM
    copies = [c.split() for c in args_of(runtime, "COPY")]
    assert [c for c in copies if c[-2:] == ["deploy/entrypoint.sh", target]], "ENTRYPOINT is not the copied script"


def test_build_context_lets_in_what_the_dockerfile_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line.removeprefix("!").rstrip("/") for line in ignore if line.startswith("!")}
    assert "**" in ignore  # everything else (.venv, .git, tests) stays out of the context
    for stage in stages(DEPLOY / "Dockerfile"):
        for copy in args_of(stage, "COPY"):
            if "--from=" in copy:
                continue  # from another stage, not the context
            for source in [part for part in copy.split()[:-1] if not part.startswith("--")]:
                assert source.rstrip("/") in allowed, f"{source} is copied but kept out of the build context"
                assert (REPO / source).exists(), source


# --- the entrypoint -----------------------------------------------------------------------------------------------


def test_entrypoint_is_valid_posix_sh_and_executable() -> None:
    sh = shutil.which("sh")
    assert sh is not None
    result = subprocess.run([sh, "-n", str(ENTRYPOINT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    assert re.search(r"^set -eu$", ENTRYPOINT.read_text(), re.MULTILINE)


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    """A stand-in `always-hope` on PATH that logs its arguments, and fails `migrate` when MIGRATE_FAILS=1."""
    log = tmp_path / "calls.log"
    script = tmp_path / "bin" / "always-hope"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = migrate ] && [ "${MIGRATE_FAILS:-0}" = 1 ]; then exit 3; fi\n'
    )
    script.chmod(0o755)
    return tmp_path


def run_entrypoint(fake_cli: Path, *args: str, **env: str) -> tuple[int, list[str]]:
    sh = shutil.which("sh")
    assert sh is not None
    environment = {"PATH": f"{fake_cli / 'bin'}{os.pathsep}{os.environ['PATH']}", **env}
    result = subprocess.run([sh, str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True,
                            timeout=30, check=False)
    log = fake_cli / "calls.log"
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def test_entrypoint_migrates_then_serves(fake_cli: Path) -> None:
    assert run_entrypoint(fake_cli) == (0, ["migrate --wait", "serve --host 0.0.0.0 --port 8000 --no-demo"])


def test_entrypoint_serves_on_port(fake_cli: Path) -> None:
    expected = ["migrate --wait", "serve --host 0.0.0.0 --port 9090 --no-demo"]
    assert run_entrypoint(fake_cli, PORT="9090") == (0, expected)


def test_entrypoint_skips_migrate_when_told(fake_cli: Path) -> None:
    assert run_entrypoint(fake_cli, ALWAYS_HOPE_SKIP_MIGRATE="1") == (
        0, ["serve --host 0.0.0.0 --port 8000 --no-demo"])


def test_failed_migration_stops_the_container_before_serving(fake_cli: Path) -> None:
    assert run_entrypoint(fake_cli, MIGRATE_FAILS="1") == (3, ["migrate --wait"])


def test_entrypoint_runs_a_given_command_instead(fake_cli: Path) -> None:
    assert run_entrypoint(fake_cli, "always-hope", "tenants", "list") == (0, ["tenants list"])
