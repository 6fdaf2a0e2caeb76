"""`always-hope migrate` and the `always-hope tenants` lifecycle subcommands: the platform API's operations for an
operator with database credentials, plus export and restore (which the GraphQL API does not offer: an export is
case data). Output goes through rich: a progress bar on a terminal, tables at the end; errors to stderr."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import IO

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.kernel.database import Database
from service.kernel.errors import DomainError, InvalidInput, NotFound
from service.kernel.tenancy import tenant_transaction
from service.platform import onboarding
from service.platform.onboarding import Onboarding
from service.tenant_admin import repository as sites_repository
from service.tenant_admin.service import SiteSpec
from tenants import export, lifecycle, runner
from tenants.lifecycle import Transition
from tenants.runner import MigrationInProgress, TenantResult
from tenants.templates import DEFAULT_TEMPLATE, RULE_TEMPLATES

# soft_wrap: a message is one line however narrow the terminal (or 80 columns when there is none); tables still fit.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
TRANSITIONS = {"activate": Transition.ACTIVATE, "suspend": Transition.SUSPEND,
               "reactivate": Transition.REACTIVATE, "archive": Transition.ARCHIVE}


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def site_arg(value: str) -> SiteSpec:
    """CODE=KIND:Name, e.g. BSI=prison:HMP Brinsford."""
    code, _, rest = value.partition("=")
    kind, _, name = rest.partition(":")
    if not code or not kind or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not CODE=KIND:Name (e.g. BSI=prison:HMP Brinsford)")
    return SiteSpec(code, name, kind.strip().upper().replace("-", "_"))


def add_migrate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=int, default=4, help="tenants migrated at once, in worker processes (default 4)")
    p.add_argument("--tenant", action="append", dest="slugs", help="only this tenant (repeatable)")
    p.add_argument("--wait", action="store_true",
                   help="wait for a migration already in progress instead of exiting with status 3")


def add_tenant_commands(tsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = tsub.add_parser("create", help="provision a tenant (PROVISIONING, with its practice rules); add sites "
                                            "and an administrator, then activate it — or use onboard for all of it")
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--kind", choices=["region", "cohort"], default="region")
    create.add_argument("--rule-template", default=DEFAULT_TEMPLATE, choices=sorted(RULE_TEMPLATES))
    onboard = tsub.add_parser("onboard", help="onboard a region or cohort: tenant, sites, first admins (idempotent)")
    onboard.add_argument("slug")
    onboard.add_argument("--name", required=True)
    onboard.add_argument("--kind", choices=["region", "cohort"], default="region")
    onboard.add_argument("--rule-template", default=DEFAULT_TEMPLATE, choices=sorted(RULE_TEMPLATES))
    onboard.add_argument("--site", action="append", default=[], type=site_arg, metavar="CODE=KIND:NAME",
                         help="a site, e.g. BSI=prison:HMP Brinsford (repeatable)")
    onboard.add_argument("--admin", action="append", default=[], metavar="SUBJECT",
                         help="a first tenant administrator's subject (repeatable)")
    onboard.add_argument("--no-activate", action="store_true", help="leave the tenant PROVISIONING")
    for name, step in TRANSITIONS.items():
        tsub.add_parser(name, help=f"{name} a tenant ({' or '.join(step.sources).lower()} → "
                                   f"{step.target.lower()})").add_argument("slug")
    delete = tsub.add_parser("delete", help="delete an archived tenant: drops its schema and roles")
    delete.add_argument("slug")
    delete.add_argument("--confirm", required=True, metavar="SLUG", help="the slug again")
    exp = tsub.add_parser("export", help="write a tenant's complete data as JSON lines with a manifest")
    exp.add_argument("slug")
    exp.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    res = tsub.add_parser("restore", help="load an export into an empty tenant at the export's schema revision")
    res.add_argument("slug")
    res.add_argument("file", type=Path)
    sites = tsub.add_parser("sites", help="list a tenant's sites, or add some")
    sites.add_argument("slug")
    sites.add_argument("--add", action="append", default=[], type=site_arg, metavar="CODE=KIND:NAME")
    grant = tsub.add_parser("grant", help="make a user an administrator of a tenant")
    grant.add_argument("slug")
    grant.add_argument("subject")
    grant.add_argument("--display-name", default="")
    tsub.add_parser("checklist", help="what a tenant still lacks").add_argument("slug")


def _steps(result: onboarding.Result) -> int:
    table = Table("step", "target", "outcome")
    for s in result.steps:
        table.add_row(s.action.value, s.target, s.outcome.value)
    out.print(table)
    if result.checklist:
        missing = [e.description for e in result.checklist if not e.done]
        out.print("still missing: " + ("; ".join(missing) if missing else "nothing"))
    if result.error is not None:
        err.print(f"error: {result.error.message}")
        return 2
    return 0


async def create(db: Database, args: argparse.Namespace) -> int:
    """The first step of onboarding on its own: the tenant starts PROVISIONING, as onboarding's does."""
    spec = Onboarding(args.slug, args.name, args.kind.upper(), args.rule_template, activate=False)
    result = await onboarding.onboard(db, spec, actor())
    if result.error is not None:
        err.print(f"error: {result.error.message}", markup=False)
        return 2
    assert result.tenant is not None
    out.print(f"{result.tenant.slug}: {result.tenant.status} (schema {result.tenant.schema})", markup=False)
    missing = [e.description for e in result.checklist if not e.done]
    if missing:
        out.print("still missing: " + "; ".join(missing), markup=False)
        out.print(f"next: `tenants sites {args.slug} --add CODE=KIND:NAME`, `tenants grant {args.slug} SUBJECT`, "
                  f"then `tenants activate {args.slug}`", markup=False)
    return 0


async def tenant_command(db: Database, args: argparse.Namespace) -> int | None:
    """Run a lifecycle subcommand; None when ``args`` names another one."""
    command = args.tenants_command
    try:
        if command == "onboard":
            spec = Onboarding(args.slug, args.name, args.kind.upper(), args.rule_template, tuple(args.site),
                              tuple((a, "") for a in args.admin), not args.no_activate)
            return _steps(await onboarding.onboard(db, spec, actor()))
        if command in TRANSITIONS:
            record, done = await lifecycle.transition(db.engine, args.slug, TRANSITIONS[command], actor())
            out.print(f"{record.slug}: {record.status} ({done.value})")
            return 0
        if command == "delete":
            deletion = await lifecycle.delete(db.engine, args.slug, confirm_slug=args.confirm, actor=actor())
            out.print(f"{deletion.slug}: deleted ({deletion.outcome.value})")
            return 0
        if command in ("export", "restore"):
            return await _export_or_restore(db, args)
        if command not in ("sites", "grant", "checklist"):
            return None
        tenant = await lifecycle.get(db.engine, args.slug)
        if command == "sites":
            result = onboarding.Result(tenant=tenant)
            if args.add:
                result.steps = await onboarding.ensure_sites(db, tenant, args.add)
                _steps(result)
            async with tenant_transaction(await db.open_jobs_pool(), tenant.as_tenant()) as conn:
                rows = await sites_repository.all_sites(conn)
            table = Table("code", "name", "kind", "closed")
            for r in rows:
                table.add_row(r["code"], r["name"], r["kind"], "yes" if r["closed_at"] else "")
            out.print(table)
            return 0
        if command == "grant":
            step = await onboarding.ensure_admin(db, tenant, args.subject, args.display_name)
            out.print(f"{tenant.slug}: tenant administrator {step.target} ({step.outcome.value})")
            return 0
        if command == "checklist":
            for e in await onboarding.checklist(db, tenant):
                out.print(f"[{'x' if e.done else ' '}] {e.description}", markup=False)
            return 0
    except DomainError as exc:
        err.print(f"error: {exc.message}")
        return 2
    return None


def private_file(path: Path) -> IO[str]:
    """Open ``path`` for writing, readable by its owner only (0600) from the first byte: an export is case data.
    An existing file is truncated and made private too."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


async def _export_or_restore(db: Database, args: argparse.Namespace) -> int:
    try:
        tenant = await lifecycle.get(db.engine, args.slug)
    except NotFound:
        if args.tenants_command != "restore":
            raise
        raise NotFound(f"There is no tenant {args.slug}. A restore loads into an empty tenant at the export's schema "
                       f"revision: create it first (`tenants create {args.slug} --name NAME`), then restore.",
                       field="slug") from None
    conn = await asyncpg.connect(lifecycle.asyncpg_dsn(db.admin_url))
    try:
        if args.tenants_command == "export":
            target: IO[str] = sys.stdout if args.output is None else private_file(args.output)
            try:
                manifest = await export.export_tenant(conn, tenant, target)
            finally:
                if target is not sys.stdout:
                    target.close()
            action = "EXPORTED"
        else:
            if not args.file.is_file():
                raise InvalidInput("No such export file.", field="file")
            with args.file.open(encoding="utf-8") as source:
                manifest = await export.restore_tenant(conn, tenant, source)
            action = "RESTORED"
    finally:
        await conn.close()
    async with db.engine.begin() as c:
        await lifecycle.record_event(c, tenant, action, actor())
    rows = sum(t["rows"] for t in manifest["tables"])
    err.print(f"{tenant.slug}: {action.lower()} {rows} rows in {len(manifest['tables'])} tables "
              f"(schema revision {manifest['schemaRevision']})")
    return 0


async def migrate(db: Database, args: argparse.Namespace) -> int:
    progress = Progress(TextColumn("migrating tenants"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=out, disable=not out.is_terminal)
    task = progress.add_task("tenants", total=0)

    def on_result(result: TenantResult) -> None:
        progress.advance(task)

    try:
        with progress:
            result = await runner.run(db.engine, db.admin_url, db.settings.app_role, jobs=args.jobs, wait=args.wait,
                                      slugs=args.slugs, app_password=db.app_password(),
                                      on_start=lambda n: progress.update(task, total=n), on_result=on_result)
    except MigrationInProgress as exc:
        err.print(f"error: {exc}")
        return 3
    table = Table("tenant", "from", "to", "outcome", "seconds", "error",
                  title=f"control plane at {result.control_revision}; tenant target {result.target}")
    for r in result.tenants:
        table.add_row(r.slug, r.from_revision or "-", r.to_revision or "-", r.outcome, f"{r.seconds:.2f}",
                      r.error or "")
    out.print(table)
    if result.failed:
        err.print(f"{len(result.failed)} tenant(s) failed and stay at their previous revision; run migrate again "
                  "once the cause is fixed.")
        return 1
    return 0
