"""Disclosure control: which cells of a metric's published cube are shown, and what a suppressed one looks like.

The *cube* of one metric holds every figure that can be published: for each grain (month, quarter, year) and period,
the national total, the total of each tenant kind (regions, cohorts), each tenant, and each site of a tenant. The
cube is additive along two hierarchies — site → tenant → kind → national, and month → quarter → year — so a
suppressed cell could be worked out from a total and the other cells of a breakdown, or from a quarter and its other
months. Suppression is therefore decided for the whole cube at once, and every view (a breakdown, a time series, a
comparison, the CSV export, the dashboard) shows a slice of that one pattern: no two requests can be differenced.

* Primary: a count of 1 to ``min_count - 1`` is suppressed (SMALL_COUNT). For a rate, the split of the denominator
  into numerator and remainder is hidden when either part is such a small count (SMALL_COUNT), when the
  denominator is under ``min_denominator`` (SMALL_DENOMINATOR), or when the denominator itself is hidden. A median
  is withheld under ``min_denominator`` observations or when their count is hidden.
* Secondary: in every additive relation (a total and its parts) no cell may be the only hidden one; while one is,
  the smallest non-zero visible part (else the total) is hidden too (SECONDARY). That local rule is not enough
  in linked tables (a hidden cell can still be solved for through a chain of relations), so the pattern is then
  audited exactly: the relations are solved as a linear system over the hidden cells, and any cell they pin down
  takes the smallest visible cell of one of its relations with it; repeat until no hidden cell is determined.
* Policies may only be stricter than the platform floor (the defaults), and a policy's pattern is computed on top of
  the floor's pattern, so every cell some policy shows is also shown by the floor: what any mix of policies
  reveals, the floor alone reveals, and the floor's pattern protects it.
* Rounding (``round_to``) changes only how visible counts are printed; rates and medians use exact values.

Zero is a count like any other and is shown. Cells absent from the cube are zeros.
"""

from __future__ import annotations

import enum
import itertools
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeAlias

from service.kernel.errors import InvalidInput
from service.reporting.catalogue import MetricKind

Entity: TypeAlias = tuple[str, ...]          # ("N",), ("K", kind), ("T", tenant), ("S", tenant, site)
Key: TypeAlias = tuple[Entity, str, str]      # (entity, grain, ISO period start)
NATIONAL: Entity = ("N",)
PRIME = 2**61 - 1
SHARED = -1          # the group of the kind and national cells, which every tenant group's system includes
Group: TypeAlias = tuple[int, str]  # (tenant group or SHARED, calendar year): no relation crosses a year
GROUP_SIZE = 8       # tenants audited together (see Cube._protect)
WITNESS_GROUPS = 4   # groups tried for a witness of a hidden shared cell before hiding more


class Reason(enum.StrEnum):
    SMALL_COUNT = "SMALL_COUNT"
    SECONDARY = "SECONDARY"
    SMALL_DENOMINATOR = "SMALL_DENOMINATOR"


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    min_count: int = 5
    min_denominator: int = 10
    round_to: int | None = None

    def checked(self) -> DisclosurePolicy:
        """Refuse a policy weaker than the platform floor (the defaults) or out of range."""
        if not FLOOR.min_count <= self.min_count <= 1000:
            raise InvalidInput(f"minCount must be between {FLOOR.min_count} and 1000.", field="policy.min_count")
        if not FLOOR.min_denominator <= self.min_denominator <= 100_000:
            raise InvalidInput(f"minDenominator must be between {FLOOR.min_denominator} and 100000.",
                               field="policy.min_denominator")
        if self.round_to is not None and not 1 <= self.round_to <= 1000:
            raise InvalidInput("roundTo must be between 1 and 1000.", field="policy.round_to")
        return self


FLOOR = DisclosurePolicy()


class Count(NamedTuple):
    value: int | None
    suppressed: bool = False
    reason: Reason | None = None


class Figure(NamedTuple):
    """A published figure: a count, a percentage or a median, or null with the reason it is suppressed.

    Immutable values, as named tuples rather than frozen dataclasses: a national table builds one per tenant on
    every read (a thousand at 1,000 tenants), and a frozen dataclass costs several times as much to construct."""

    value: float | None
    suppressed: bool = False
    reason: Reason | None = None
    numerator: Count | None = None
    denominator: Count | None = None


@dataclass(slots=True)
class Cell:
    den: int = 0
    num: int | None = None
    median: float | None = None
    histogram: Counter[float] = field(default_factory=Counter)


def median_of(histogram: Counter[float]) -> float | None:
    """The median of a (value -> count) distribution, as PostgreSQL's percentile_cont(0.5) computes it."""
    n = sum(histogram.values())
    if n == 0:
        return None
    lo_rank, hi_rank = (n - 1) // 2, n // 2
    lo = hi = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if lo is None and seen > lo_rank:
            lo = value
        if seen > hi_rank:
            hi = value
            break
    assert lo is not None
    assert hi is not None
    return (lo + hi) / 2


def _subtract(row: dict[int, int], factor: int, pivot: dict[int, int]) -> dict[int, int]:
    out = dict(row)
    for c, v in pivot.items():
        value = (out.get(c, 0) - factor * v) % PRIME
        if value:
            out[c] = value
        else:
            out.pop(c, None)
    return out


def _parents(key: Key, kind_of: dict[str, str]) -> Iterable[tuple[str, Key]]:
    entity, grain, period = key
    if entity[0] == "S":
        yield "H", (("T", entity[1]), grain, period)
    elif entity[0] == "T":
        yield "H", (("K", kind_of[entity[1]]), grain, period)
    elif entity[0] == "K":
        yield "H", (NATIONAL, grain, period)
    if grain == "MONTH":
        month = int(period[5:7])
        yield "P", (entity, "QUARTER", f"{period[:5]}{month - (month - 1) % 3:02d}-01")
    elif grain == "QUARTER":
        yield "P", (entity, "YEAR", f"{period[:4]}-01-01")


def _packed(numbers: Iterable[int]) -> bytes:
    return array("q", sorted(numbers)).tobytes()


def _block(key: Key) -> tuple[int, str, Key]:
    entity = key[0]
    return (0, entity[1], key) if entity[0] in ("T", "S") else (1, "", key)


Exposure: TypeAlias = tuple[list[Key], frozenset[Key]]
# What one group's system of equations is made of: its tenants' kind, its cells and the shared cells of its year
# (which fix its equations), and which of those are hidden (its unknowns). Cells as numbers (AuditMemo.ids), each
# set packed sorted into bytes (_packed): comparing two costs little beside solving, and the memo of a metric with
# thousands of groups stays a few bytes per cell.
System: TypeAlias = tuple[str, bytes, bytes, bytes, bytes]


@dataclass(slots=True)
class AuditMemo:
    """The exact audits (Cube._exposed) of one metric's last publication, by the system of equations each solved,
    so the next publication re-solves only the systems that changed: a group of tenants none of which changed, with
    the same cells hidden around it, is not solved again, nor even written out as equations. A system is known by
    what makes it (see System): the equations of a group are a function of its cells and the shared cells of its
    year, and its unknowns are the hidden ones among them, so an answer is a function of its signature alone and a
    pattern computed with a memo is the pattern computed without one (tests/reporting/test_incremental_publish.py
    checks it on generated changes). Only what the last publication used is kept."""

    previous: dict[System, Exposure] = field(default_factory=dict)
    current: dict[System, Exposure] = field(default_factory=dict)
    ids: dict[Key, int] = field(default_factory=dict)  # a number per cell ever seen, the same in every publication
    keys: list[Key] = field(default_factory=list)      # and the cell of each number
    solved: int = 0
    reused: int = 0

    def recall(self, system: System) -> Exposure | None:
        found = self.current.get(system)
        if found is None:
            found = self.previous.get(system)
            if found is not None:
                self.current[system] = found
        if found is not None:
            self.reused += 1
        return found

    def keep(self, system: System, answer: Exposure) -> None:
        self.current[system] = answer
        self.solved += 1

    def next_publication(self) -> None:
        self.previous, self.current = self.current, {}
        self.solved = self.reused = 0


# What a Cube works out from its cell keys, tenants and memo alone (its layout), never from figures.
_LAYOUT = ("relations", "member_of", "kind_of", "_ids", "shared_totals", "shared_cells", "_slot_of", "_homes",
           "_slot_cells", "_slot_ids", "_slot_relations", "_kind_relations", "_shared_relations")


class Cube:
    """One metric's publishable figures and the additive relations between them."""

    def __init__(self, kind: MetricKind, cells: dict[Key, Cell], kind_of: dict[str, str],
                 memo: AuditMemo | None = None, *, layout: Cube | None = None) -> None:
        """``layout``: a cube of the same cell keys, tenants and memo (the metric's last publication, when only
        figures moved since): its relations, which depend on those alone, are taken as they are."""
        self.kind = kind
        self.memo = memo
        self.cells = cells
        # For relations with a shared total (a kind's or the nation's, whose parts are every tenant of a kind):
        # their non-zero members by (denominator, key), and during one _protect the index of the first one not
        # hidden (hidden cells only accumulate there). See _nearest_visible.
        self._ranked: dict[int, list[tuple[int, Key]]] = {}
        self._first_visible: dict[int, int] = {}
        # During one _protect, for every other relation (all its members in one group: a tenant's own, or shared):
        # its smallest visible non-zero member, or None when it has none; good until that member is hidden.
        self._smallest_visible: dict[int, tuple[int, Key] | None] = {}
        # Each relation's non-zero members (total first), as _nearest_visible walks out through them.
        self._nonzero: dict[int, tuple[Key, ...]] = {}
        # During one _protect: the hidden cells of each group, as numbers (kept by _protect's hide).
        self._hidden_ids: dict[Group, set[int]] = {}
        self._floor: tuple[dict[Key, Reason], dict[Key, Reason]] | None = None
        self._zero: set[Key] | None = None  # the cells whose denominator is zero (see _secondary)
        if layout is not None:
            for name in _LAYOUT:
                setattr(self, name, getattr(layout, name))
            return
        groups: dict[tuple[str, Key], list[Key]] = defaultdict(list)
        for key in cells:
            for relation, parent in _parents(key, kind_of):
                groups[(relation, parent)].append(key)
        # Each relation: its total, then its parts. Zero cells are left out: never hidden, never a candidate.
        # In an order that depends on the cells alone, never on the order they came in (a tenant's and a quarter's
        # relations share their total): the cells kept across publications come in another order than a rebuild's.
        self.relations: list[tuple[Key, list[Key]]] = [
            (parent, sorted(parts)) for (_, parent), parts in
            sorted(groups.items(), key=lambda item: (_block(item[0][1]), item[0][0]))]
        self.member_of: dict[Key, list[int]] = defaultdict(list)
        for i, (total, parts) in enumerate(self.relations):
            for member in (total, *parts):
                self.member_of[member].append(i)
        # The relations whose total is a kind's or the nation's (whose parts are every tenant of a kind).
        self.shared_totals = {i for i, (total, _) in enumerate(self.relations) if total[0][0] in ("K", "N")}
        self.kind_of = kind_of
        ids, keys = (memo.ids, memo.keys) if memo is not None else ({}, [])
        for key in cells:
            if key not in ids:
                ids[key] = len(keys)
                keys.append(key)
        self._ids = ids
        # Where each cell and each total sits (its slot): one tenant's cells of one calendar year, or the kinds' and
        # nation's of one year. A grouping of tenants (_regroup, which depends on the hidden cells) is then a group
        # per slot, and a group's cells and relations are its slots' put together: none of it is worked out again
        # cell by cell for each grouping.
        homes: dict[tuple[str, str], int] = {}
        self._slot_of: dict[Key, int] = {}
        for key in itertools.chain(cells, (total for total, _ in self.relations)):
            if key not in self._slot_of:
                entity, _, period = key
                home = (entity[1] if entity[0] in ("T", "S") else "", period[:4])
                self._slot_of[key] = homes.setdefault(home, len(homes))
        self._homes = list(homes)  # each slot's (tenant, or "" for the shared cells; year)
        self._slot_cells: list[list[Key]] = [[] for _ in self._homes]
        for key in cells:
            self._slot_cells[self._slot_of[key]].append(key)
        self._slot_ids = [[ids[k] for k in own] for own in self._slot_cells]
        self.shared_cells = [k for k in cells if not self._homes[self._slot_of[k]][0]]
        # Each relation by where its members sit: a tenant's own (total and parts in one slot: a site's or the
        # tenant's months in a quarter, its sites in the tenant), a kind's over its tenants (parts in many slots,
        # cut into each group's share by _regroup), or wholly shared (the kinds' and nation's own).
        self._slot_relations: list[list[tuple[Key, list[Key]]]] = [[] for _ in self._homes]
        self._kind_relations: list[tuple[int, list[tuple[Key, int]], list[Key]]] = []
        self._shared_relations: dict[str, list[tuple[Key, list[Key]]]] = defaultdict(list)
        for i, (total, parts) in enumerate(self.relations):
            at = self._slot_of[total]
            if self._homes[at][0]:
                self._slot_relations[at].append((total, parts))
                continue
            tenants_parts = [(p, self._slot_of[p]) for p in parts if self._homes[self._slot_of[p]][0]]
            if tenants_parts:
                self._kind_relations.append((i, tenants_parts, [p for p in parts if p[0][0] not in ("T", "S")]))
            else:
                self._shared_relations[total[2][:4]].append((total, parts))
        # The grouping depends on the hidden cells: _protect works it out (_regroup) before anything asks for it.
        self._slot_group: list[Group] = []

    def den(self, key: Key) -> int:
        cell = self.cells.get(key)
        return 0 if cell is None else cell.den

    def _regroup(self, hidden: dict[Key, Reason]) -> None:
        """Tenants in groups of at most GROUP_SIZE, of one kind (so a group shares its kind's totals), and each
        relation cut down to one group's cells and the shared ones (see _exposed). Tenants whose hidden totals sit
        in the same kind total (typically a small tenant and the one hidden beside it) go together where they fit,
        so the pair that protects each other is audited together; the rest fill groups in order."""
        parent = {t: t for t in self.kind_of}
        size = dict.fromkeys(self.kind_of, 1)

        def root(t: str) -> str:
            while parent[t] != t:
                parent[t] = parent[parent[t]]
                t = parent[t]
            return t

        for i, tenants_parts, _ in self._kind_relations:
            if self.relations[i][0][0][0] != "K":
                continue
            together = [p[0][1] for p, _ in tenants_parts if p[0][0] == "T" and p in hidden]
            for a, b in itertools.pairwise(together):
                ra, rb = root(a), root(b)
                if ra != rb and size[ra] + size[rb] <= GROUP_SIZE:
                    parent[rb] = ra
                    size[ra] += size[rb]
        members: dict[str, list[str]] = defaultdict(list)
        for t in sorted(self.kind_of, key=lambda t: (self.kind_of[t], t)):
            members[root(t)].append(t)
        self.group_of = {}
        self.kind_of_group: dict[int, str] = {}
        self._cell_ids: dict[Group, bytes] = {}
        group, filled, kind = 0, 0, None
        for component in sorted(members.values(), key=lambda c: (self.kind_of[c[0]], -len(c), c)):
            if kind != self.kind_of[component[0]] or filled + len(component) > GROUP_SIZE:
                group, filled, kind = group + 1, 0, self.kind_of[component[0]]
            self.group_of.update(dict.fromkeys(component, group))
            self.kind_of_group[group] = self.kind_of[component[0]]
            filled += len(component)
        # Each slot's group (one object per group, so that comparing groups is mostly by identity), each group's
        # slots, and each relation cut down to one group's cells and the shared ones (see _exposed).
        made: dict[Group, Group] = {}
        self._slot_group = [made.setdefault(g, g) for g in
                            ((self.group_of[tenant] if tenant else SHARED, year) for tenant, year in self._homes)]
        slot_group = self._slot_group
        self._group_slots: dict[Group, list[int]] = defaultdict(list)
        self.local_relations: dict[Group, list[tuple[Key, list[Key]]]] = defaultdict(list)
        for at, group_ in enumerate(slot_group):
            self._group_slots[group_].append(at)
            if self._slot_relations[at]:
                self.local_relations[group_].extend(self._slot_relations[at])
        self.parts_by_group: dict[int, dict[Group, list[Key]]] = {}
        for i, tenants_parts, shared in self._kind_relations:
            by_group: dict[Group, list[Key]] = defaultdict(list)
            for p, at in tenants_parts:
                by_group[slot_group[at]].append(p)
            self.parts_by_group[i] = by_group
            total = self.relations[i][0]
            for group_, own in by_group.items():
                self.local_relations[group_].append((total, own + shared))

    def _secondary(self, hidden: dict[Key, Reason], seeds: Iterable[Key] | None = None) -> list[Key]:
        """The local rule, in place: no relation may have exactly one hidden member. Every relation, or (``seeds``)
        those of the given cells and of whatever it hides, leaving out the kinds' and nation's own relations, whose
        many parts the exact audit weighs anyway. Returns the cells it hid."""
        added: list[Key] = []
        zero = self._zero
        if zero is None:
            zero = self._zero = {k for k, cell in self.cells.items() if cell.den <= 0}
        relations, member_of, shared_totals = self.relations, self.member_of, self.shared_totals
        counts: list[int] | None = None
        if seeds is None:
            pending = set(range(len(relations)))
            # Each relation's hidden non-zero members, counted once from the hidden cells and kept up to date as
            # cells are hidden: counting every relation's members here would read every cell of the cube.
            counts = [0] * len(relations)
            for k in hidden:
                if k not in zero:
                    for j in member_of.get(k, ()):
                        counts[j] += 1
        else:
            # In the order of their numbers, whatever the order of the seeds (a set's order is not the same in every
            # process): the outcome depends on the cells alone.
            pending = set(sorted(i for cell in sorted(seeds) for i in member_of.get(cell, ())
                                 if i not in shared_totals))
        while pending:
            i = pending.pop()
            total, parts = relations[i]
            if counts is not None:
                count = counts[i]
            else:
                count = 1 if total in hidden and total not in zero else 0  # hidden cells: den > 0 unless zero
                for m in parts:
                    if m in hidden and m not in zero:
                        count += 1
                        if count > 1:
                            break
            if count != 1:
                continue
            visible = min(((self.cells[p].den, p) for p in parts if p not in hidden and p not in zero), default=None)
            if visible is not None:
                chosen = visible[1]
            elif total not in hidden and self.den(total) > 0:
                chosen = total
            else:
                continue
            hidden[chosen] = Reason.SECONDARY
            added.append(chosen)
            if counts is not None:  # chosen was visible and is not zero
                for j in member_of[chosen]:
                    counts[j] += 1
            pending.update(j for j in member_of[chosen] if seeds is None or j not in shared_totals)
        return added

    def _exposed(self, hidden: dict[Key, Reason], group: Group) -> tuple[list[Key], frozenset[Key]]:
        """Within one tenant group's system: its hidden cells that are pinned down, and the hidden shared cells
        (kinds, national) that are not.

        Unknowns are the group's hidden cells and the hidden shared ones; every other hidden cell is held at its
        true value (a perturbation of zero). Each relation touching an unknown is a linear equation. A cell is
        pinned when its unit vector lies in the row space, which in reduced row echelon form means some row is
        exactly that unit vector. A cell left free has a perturbation of the unknowns that keeps every published
        figure and moves it; extended by zeros to the other groups it is a perturbation of the whole cube, so the
        cell is safe whatever else is hidden (more hidden cells only add unknowns). Arithmetic is modulo a large
        prime: over the rationals a cell can only be *less* determined, so an error could only hide more.
        """
        shared_group = (SHARED, group[1])
        # The answer depends on nothing else than the system's signature: reuse it if an earlier publication of
        # this metric solved the same system (a group none of whose tenants changed, the same cells hidden).
        system: System | None = None
        if self.memo is not None:
            system = (self.kind_of_group.get(group[0], ""), self._cells_of(group), self._cells_of(shared_group),
                      _packed(self._hidden_ids.get(group, ())), _packed(self._hidden_ids.get(shared_group, ())))
            known = self.memo.recall(system)
            if known is not None:
                return known
        shared_cells = self._cells_in(shared_group)
        order = sorted((k for k in (*self._cells_in(group), *shared_cells) if k in hidden), key=_block)
        index = {k: i for i, k in enumerate(order)}
        rows: list[dict[int, int]] = []
        for total, parts in self.local_relations.get(group, []) + self._shared_relations.get(group[1], []):
            row: dict[int, int] = {}
            for cell, sign in ((total, 1), *((p, -1) for p in parts)):
                i = index.get(cell)
                if i is not None:
                    row[i] = (row.get(i, 0) + sign) % PRIME
            row = {c: v for c, v in row.items() if v}
            if row:
                rows.append(row)
        pivots: dict[int, dict[int, int]] = {}
        holders: dict[int, set[int]] = defaultdict(set)  # column -> pivot rows with a non-zero there

        def put(pivot: int, row: dict[int, int]) -> None:
            for c in pivots.get(pivot, ()):
                holders[c].discard(pivot)
            pivots[pivot] = row
            for c in row:
                holders[c].add(pivot)

        for row in rows:
            for col in [c for c in row if c in pivots]:
                if col in row:
                    row = _subtract(row, row[col], pivots[col])
            if not row:
                continue
            col = min(row)
            inverse = pow(row[col], PRIME - 2, PRIME)
            row = {c: v * inverse % PRIME for c, v in row.items()}
            for other in list(holders[col]):
                put(other, _subtract(pivots[other], pivots[other][col], row))
            put(col, row)
        pinned = {order[col] for col, row in pivots.items() if len(row) == 1}
        shared = index.keys() & set(shared_cells)
        answer = (sorted(pinned - shared), frozenset(shared - pinned))
        if self.memo is not None and system is not None:
            self.memo.keep(system, answer)
        return answer

    def _cells_in(self, group: Group) -> list[Key]:
        return [k for at in self._group_slots.get(group, ()) for k in self._slot_cells[at]]

    def _cells_of(self, group: Group) -> bytes:
        found = self._cell_ids.get(group)
        if found is None:
            found = self._cell_ids[group] = _packed(itertools.chain.from_iterable(
                self._slot_ids[at] for at in self._group_slots.get(group, ())))
        return found

    def _group(self, key: Key) -> Group:
        return self._slot_group[self._slot_of[key]]

    def _protect(self, hidden: dict[Key, Reason]) -> dict[Key, Reason]:
        """Secondary suppression until no hidden cell can be recovered exactly.

        The exact audit runs group by group (GROUP_SIZE tenants and the shared cells), so its cost grows linearly
        with the number of tenants: a group's cells are safe once its own system leaves them free (see _exposed),
        and a shared cell once some group's system does. Hiding more never makes a safe cell unsafe, so a group is
        audited again only when one of its cells has been hidden since.
        """
        hidden = dict(hidden)
        self._first_visible, self._smallest_visible = {}, {}
        self._secondary(hidden)
        self._regroup(hidden)
        self._hidden_ids = defaultdict(set)
        slot_group, slot_of, ids = self._slot_group, self._slot_of, self._ids
        for k in hidden:  # hidden cells are cells: each has its slot and number
            self._hidden_ids[slot_group[slot_of[k]]].add(ids[k])
        pending = deque(sorted(g for g in self._hidden_ids if g[0] != SHARED))
        queued = set(pending)
        witnessed: set[Key] = set()

        def hide(cell: Key) -> None:
            hidden[cell] = Reason.SECONDARY
            group = self._group(cell)
            self._hidden_ids[group].add(self._ids[cell])
            if group[0] != SHARED and group not in queued:
                pending.append(group)
                queued.add(group)

        while True:
            while pending:
                group = pending.popleft()
                queued.discard(group)
                exposed, free = self._exposed(hidden, group)
                witnessed |= free
                taken = {c for c in (self._nearest_visible(cell, hidden, group) for cell in exposed) if c is not None}
                for cell in sorted(taken):  # in a fixed order: the pattern must not depend on hashing
                    hide(cell)
                for cell in self._secondary(hidden, taken):
                    hide(cell)
            unwitnessed = sorted(k for k in self.shared_cells if k in hidden and k not in witnessed)
            for cell in unwitnessed:
                # Look for a witness in the groups with hidden cells beside it, then hide more if there is none.
                nearby = sorted({self._group(m) for i in self.member_of[cell] for m in self.relations[i][1]
                                 if m in hidden and self._group(m)[0] != SHARED})[:WITNESS_GROUPS]
                nearby = nearby or [(0, cell[2][:4])]
                for group in nearby:
                    witnessed |= self._exposed(hidden, group)[1]
                    if cell in witnessed:
                        break
                else:
                    chosen = self._nearest_visible(cell, hidden, nearby[0])
                    if chosen is None:
                        witnessed.add(cell)  # everything reachable is hidden already: nothing more to hide
                    else:
                        hide(chosen)
            if not pending and all(k in witnessed for k in self.shared_cells if k in hidden):
                return hidden

    def _nearest_visible(self, start: Key, hidden: dict[Key, Reason], group: Group) -> Key | None:
        """The smallest visible non-zero cell sharing a relation with ``start`` (one of ``group``'s own first), or
        failing that, with the hidden cells around it (breadth first through hidden cells).

        Ring by ring, each relation looked at once: a relation of an earlier ring had no visible member then, and
        has none now (nothing is hidden during a walk), and its members are in the walk already. A walk from a cell
        of a month in which every tenant is hidden reaches the kind's relation over all of them, and its ring then
        holds a thousand tenants' cells whose relations it shares (looking at that relation once per cell made such
        a walk cost a million steps)."""
        seen, frontier = {start}, [start]
        looked_at: set[int] = set()
        while frontier:
            ring = {i for cell in frontier for i in self.member_of[cell]} - looked_at
            looked_at |= ring
            best_own: tuple[int, Key] | None = None
            best_other: tuple[int, Key] | None = None
            for i in ring:
                own, other = self._nearest_in_relation(i, hidden, group)
                if own is not None and (best_own is None or own < best_own):
                    best_own = own
                if other is not None and (best_other is None or other < best_other):
                    best_other = other
            best = best_own or best_other
            if best is not None:
                return best[1]
            # Every member of the ring's relations is hidden (or zero): go one relation further out.
            members: set[Key] = set()
            for i in ring:
                members.update(self._nonzero_of(i))
            frontier = [m for m in members if m not in seen]
            seen.update(frontier)
        return None

    def _nonzero_of(self, i: int) -> tuple[Key, ...]:
        found = self._nonzero.get(i)
        if found is None:
            total, parts = self.relations[i]
            found = self._nonzero[i] = tuple(m for m in (total, *parts) if self.den(m) > 0)
        return found

    def _nearest_in_relation(self, i: int, hidden: dict[Key, Reason], group: Group
                             ) -> tuple[tuple[int, Key] | None, tuple[int, Key] | None]:
        """The smallest visible non-zero members of relation ``i``, as (denominator, key), of ``group``'s own and of
        any other group: one relation of a ring of _nearest_visible, without reading every part of a kind's relation
        each time (that made publishing quadratic in tenants). ``group``'s own parts of such a relation are listed
        by _regroup; the smallest visible part of another group is found from the relation's ranked members,
        skipping the hidden ones at its head once for the whole _protect. The same choice as sorting every member by
        (not own group, denominator, key): tests/reporting/test_disclosure.py checks it."""
        by_group = self.parts_by_group.get(i)
        if by_group is None:  # a tenant's own relation, or a shared one: a few members, all in one group
            best = self._smallest_visible.get(i)
            # Hidden cells only accumulate: a smallest visible member still visible is still the smallest (and a
            # relation with none visible has none since).
            if i not in self._smallest_visible or (best is not None and best[1] in hidden):
                best = self._smallest_visible[i] = min(
                    ((self.cells[m].den, m) for m in self._nonzero_of(i) if m not in hidden), default=None)
            return (best, None) if best is not None and self._group(best[1]) == group else (None, best)
        best_own: tuple[int, Key] | None = None
        best_other: tuple[int, Key] | None = None
        candidates = (self.relations[i][0], *by_group.get(group, ()))
        ranked = self._ranked.get(i)
        if ranked is None:
            ranked = self._ranked[i] = sorted((self.den(m), m) for m in self._nonzero_of(i))
        at = self._first_visible.get(i, 0)
        while at < len(ranked) and ranked[at][1] in hidden:
            at += 1
        self._first_visible[i] = at
        for entry in itertools.islice(ranked, at, None):
            if entry[1] not in hidden and self._group(entry[1]) != group:
                best_other = entry
                break
        cells, slot_group, slot_of = self.cells, self._slot_group, self._slot_of
        for m in candidates:
            cell = cells.get(m)
            if cell is None or cell.den <= 0 or m in hidden:
                continue
            entry = (cell.den, m)
            if slot_group[slot_of[m]] == group:
                if best_own is None or entry < best_own:
                    best_own = entry
            elif best_other is None or entry < best_other:
                best_other = entry
        return best_own, best_other

    def _primary(self, policy: DisclosurePolicy, den_hidden: dict[Key, Reason] | None) -> dict[Key, Reason]:
        found: dict[Key, Reason] = {}
        for key, cell in self.cells.items():
            if den_hidden is None:
                if 0 < cell.den < policy.min_count:
                    found[key] = Reason.SMALL_COUNT
                continue
            num = cell.num or 0
            if key in den_hidden:
                found[key] = den_hidden[key]
            elif cell.den < policy.min_denominator:
                found[key] = Reason.SMALL_DENOMINATOR
            elif 0 < num < policy.min_count or 0 < cell.den - num < policy.min_count:
                found[key] = Reason.SMALL_COUNT
        return found

    def _pattern_for(self, policy: DisclosurePolicy, base: tuple[dict[Key, Reason], dict[Key, Reason]] | None
                     ) -> tuple[dict[Key, Reason], dict[Key, Reason]]:
        start_den = {} if base is None else dict(base[0])
        den = self._protect({**start_den, **self._primary(policy, None)})
        split: dict[Key, Reason] = {}
        if self.kind is MetricKind.RATE:
            start_split = {} if base is None else dict(base[1])
            split = self._protect({**start_split, **self._primary(policy, den)})
        return den, split

    def pattern(self, policy: DisclosurePolicy) -> Pattern:
        if self._floor is None:
            self._floor = self._pattern_for(FLOOR, None)
        den, split = self._floor if policy == FLOOR else self._pattern_for(policy, self._floor)
        return Pattern(self, policy, den, split)


@dataclass(frozen=True, slots=True)
class Pattern:
    cube: Cube
    policy: DisclosurePolicy | None    # None: unsuppressed (a tenant administrator's own figures)
    den_hidden: dict[Key, Reason]
    split_hidden: dict[Key, Reason]

    def _count(self, value: int, hidden: Reason | None) -> Count:
        if hidden is not None:
            return Count(None, True, hidden)
        base = self.policy.round_to if self.policy is not None else None
        if base:
            value = (value + base // 2) // base * base  # half up, in integers
        return Count(value)

    def figure(self, key: Key) -> Figure:
        cell = self.cube.cells.get(key) or Cell()
        den_reason = self.den_hidden.get(key)
        denominator = self._count(cell.den, den_reason)
        kind = self.cube.kind
        if kind is MetricKind.COUNT:
            return Figure(denominator.value, denominator.suppressed, denominator.reason)
        min_den = self.policy.min_denominator if self.policy is not None else 1
        if kind is MetricKind.MEDIAN:
            if den_reason is not None:
                return Figure(None, True, den_reason, denominator=denominator)
            if cell.den < min_den or cell.median is None:
                return Figure(None, True, Reason.SMALL_DENOMINATOR, denominator=denominator)
            return Figure(round(cell.median, 1), denominator=denominator)
        split_reason = self.split_hidden.get(key)
        if split_reason is not None:
            return Figure(None, True, split_reason, Count(None, True, split_reason), denominator)
        numerator = self._count(cell.num or 0, None)
        if cell.den == 0 or cell.den < min_den:
            return Figure(None, True, Reason.SMALL_DENOMINATOR, numerator, denominator)
        return Figure(round(100 * (cell.num or 0) / cell.den, 1), numerator=numerator, denominator=denominator)


def unsuppressed(cube: Cube) -> Pattern:
    return Pattern(cube, None, {}, {})
