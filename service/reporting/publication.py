"""Published figures: the platform-floor disclosure pattern of every metric, computed when rollups change and
stored as it is shown, so that a national query at the default policy reads figures and computes nothing.

A publication reads one metric's rollups, builds its cube (:func:`build_cube`), runs disclosure control over the
whole cube (disclosure.Cube.pattern, whose audit grows linearly with the number of tenants) and replaces that
metric's rows of ``control.national_figure`` in the same transaction, under a lock every publisher takes, so
readers always see one complete pattern. A suppressed figure is stored without its value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg

from service.kernel.session import Statements
from service.reporting import repository
from service.reporting.catalogue import Metric, MetricKind
from service.reporting.disclosure import (
    FLOOR,
    NATIONAL,
    AuditMemo,
    Cell,
    Count,
    Cube,
    Entity,
    Figure,
    Key,
    Pattern,
    Reason,
    median_of,
)
from service.reporting.repository import FigureSlice, ReportingTenant, StoredRow


def build_cube(m: Metric, rows: Sequence[StoredRow], tenants: Sequence[ReportingTenant],
               memo: AuditMemo | None = None) -> Cube:
    kind_of = {str(t.id): t.kind for t in tenants}
    cells: dict[tuple[Entity, str, str], Cell] = {}
    for r in rows:
        tenant = str(r.tenant_id)
        if tenant not in kind_of:
            continue
        period = r.period_start.isoformat()
        own: Entity = ("S", tenant, r.site_code) if r.site_code else ("T", tenant)
        cells[(own, r.grain, period)] = Cell(r.denominator, r.numerator, r.median)
        if r.site_code:
            continue
        for entity in (("K", kind_of[tenant]), NATIONAL):
            total = cells.setdefault((entity, r.grain, period), Cell(0, None if r.numerator is None else 0))
            total.den += r.denominator
            if r.numerator is not None:
                total.num = (total.num or 0) + r.numerator
            if r.dist_values is not None and r.dist_counts is not None:
                total.histogram.update(dict(zip(r.dist_values, r.dist_counts, strict=True)))
    for (entity, _, _), cell in cells.items():
        if entity[0] in ("N", "K"):
            cell.median = median_of(cell.histogram)
    return Cube(m.kind, cells, kind_of, memo)


def encode(entity: Entity) -> str:
    return "/".join(entity)


def decode(entity: str) -> Entity:
    return tuple(entity.split("/", 2))


def _record(metric: str, key: Key, figure: Figure) -> tuple[object, ...]:
    entity, grain, period = key
    numerator, denominator = figure.numerator or Count(None), figure.denominator or Count(None)
    tenant = entity[1] if entity[0] in ("T", "S") else None
    return (metric, grain, dt.date.fromisoformat(period), encode(entity), entity[0], tenant, figure.value,
            figure.reason, numerator.value, numerator.reason, denominator.value, denominator.reason)


def _order(record: tuple[object, ...]) -> tuple[str, str, str, str]:
    """Stored in the order national tables read them (grain, period, kind of entity: alembic c0009), so one slice
    is a few adjacent pages rather than one page per figure."""
    return str(record[1]), str(record[2]), str(record[4]), str(record[3])


@dataclass(slots=True)
class Published:
    """What this process last wrote of one metric: the publication counter it stored (control.metric_publication)
    and every figure, by cell number (AuditMemo.ids; None: not published). Equal figures are one object, so the
    many alike (every suppressed count) cost one reference each."""

    publication: int
    figures: list[Figure | None]


@dataclass(slots=True)
class MetricState:
    memo: AuditMemo = field(default_factory=AuditMemo)
    published: Published | None = None


# Each metric's exact audits and figures from its last publication in this process (the refresh leader's): the
# audits are reused where the same system comes up again, and only the figures that differ are written, as long as
# the stored figures are still this process's (the publication counter says so). A new leader starts without: it
# solves everything once, writes every figure once, and publishes the same.
STATES: dict[str, MetricState] = {}


def memo_of(metric: str) -> AuditMemo:
    return STATES.setdefault(metric, MetricState()).memo


async def publish(pool: asyncpg.Pool, metrics: Iterable[Metric], *, rebuild: bool = False) -> int:
    """Recompute and store the published figures of ``metrics``. Returns the number of figures written.

    ``rebuild``: from nothing, as a new process would (every audit solved, every figure written)."""
    written = 0
    for m in metrics:
        if rebuild:
            STATES.pop(m.key, None)
        state = STATES.setdefault(m.key, MetricState())
        async with repository.publishing(pool) as conn:
            tenants = await repository.tenants(conn)
            rows = await repository.metric_rows(conn, m.key)
            state.memo.next_publication()
            cube = build_cube(m, rows, tenants, state.memo)
            pattern = cube.pattern(FLOOR)
            stamp = await repository.publication_stamp(conn, m.key)
            last = state.published
            if last is None or stamp is None or stamp[0] != last.publication:
                last = None  # another process published since, or this one never did: write every figure
            ids, keys = state.memo.ids, state.memo.keys
            figures: list[Figure | None] = [None] * len(keys)
            alike: dict[Figure, Figure] = {}
            records: list[tuple[object, ...]] = []
            for key in cube.cells:
                figure = pattern.figure(key)
                figure = alike.setdefault(figure, figure)
                i = ids[key]
                figures[i] = figure
                if last is None or i >= len(last.figures) or last.figures[i] != figure:
                    records.append(_record(m.key, key, figure))
            if last is None:
                await repository.replace_figures(conn, m.key, sorted(records, key=_order))
            else:
                gone = [(key[1], dt.date.fromisoformat(key[2]), encode(key[0]))
                        for i, before in enumerate(last.figures)
                        if before is not None and figures[i] != before for key in (keys[i],)]
                await repository.rewrite_figures(conn, m.key, gone, sorted(records, key=_order))
            publication = await repository.stamp_publication(conn, m.key, len(cube.cells))
        state.published = Published(publication, figures)  # only once the figures are committed
        written += len(records)
    return written


@dataclass(frozen=True, slots=True)
class StoredFigures:
    """Published figures read back for one view; anything not stored is an empty cell, shown as the floor shows
    an empty cell."""

    kind: MetricKind
    figures: dict[Key, Figure]

    def figure(self, key: Key) -> Figure:
        found = self.figures.get(key)
        return found if found is not None else _empty(self.kind, key)


def _empty(kind: MetricKind, key: Key) -> Figure:
    pattern = _EMPTY.get(kind)
    if pattern is None:
        pattern = _EMPTY[kind] = Pattern(Cube(kind, {}, {}), FLOOR, {}, {})
    return pattern.figure(key)


_EMPTY: dict[MetricKind, Pattern] = {}


_REASONS: dict[str | None, Reason | None] = {None: None, **{r.value: r for r in Reason}}


def _figure(kind: MetricKind, r: asyncpg.Record) -> Figure:
    # Columns by position (see repository.FIGURE_READ): value, reason, numerator, numerator_reason, denominator,
    # denominator_reason from the third on.
    value, reason = r[2], r[3]
    if kind is MetricKind.COUNT:
        return Figure(int(value) if value is not None else None, reason is not None, _REASONS[reason])
    denominator = Count(r[6], r[7] is not None, _REASONS[r[7]])
    numerator = Count(r[4], r[5] is not None, _REASONS[r[5]]) if kind is MetricKind.RATE else None
    return Figure(value, reason is not None, _REASONS[reason], numerator, denominator)


def stored(kind: MetricKind, r: asyncpg.Record) -> Figure:
    """One row of repository.tenant_table: its figure as published, or an empty cell's where none is stored."""
    return _figure(kind, r) if r[8] else _empty(kind, (NATIONAL, "YEAR", "0001-01-01"))


async def read(conn: Statements, m: Metric, part: FigureSlice) -> StoredFigures:
    rows = await repository.figures(conn, m.key, part)
    periods: dict[dt.date, str] = {}
    figures: dict[Key, Figure] = {}
    for r in rows:
        period = periods.get(r[1])
        if period is None:
            period = periods[r[1]] = r[1].isoformat()
        figures[(decode(r[0]), part.grain, period)] = _figure(m.kind, r)
    return StoredFigures(m.kind, figures)

