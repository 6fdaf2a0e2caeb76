"""Disclosure control on synthetic cubes: small counts never shown, and an exact linear attacker who knows every
shown figure and how totals add up (national, kinds, tenants, sites; months, quarters, year) recovers nothing."""

from __future__ import annotations

import random
from collections.abc import Hashable

import pytest

from service.kernel.errors import InvalidInput
from service.reporting.catalogue import MetricKind
from service.reporting.disclosure import (
    FLOOR,
    GROUP_SIZE,
    Cell,
    Cube,
    DisclosurePolicy,
    Entity,
    Figure,
    Key,
    Reason,
    median_of,
)
from tests.reporting.attack import Relation, recoverable

KINDS = {"t1": "REGION", "t2": "REGION", "t3": "COHORT"}
SITES = {"t1": ["a", "b", "c"], "t2": ["d", "e"], "t3": ["f", "g"]}
MONTHS = [f"2024-{m:02d}-01" for m in range(1, 7)]
QUARTERS = ["2024-01-01", "2024-04-01"]


# More tenants than one audit group holds (disclosure.GROUP_SIZE), so witnesses must hold across groups.
MANY_KINDS = {f"m{i:02d}": "COHORT" if i % 4 == 3 else "REGION" for i in range(3 * GROUP_SIZE + 2)}
MANY_SITES = {t: ["a", "b"] for t in MANY_KINDS}


def entities(sites_of: dict[str, list[str]] = SITES) -> list[Entity]:
    out: list[Entity] = [("N",), ("K", "REGION"), ("K", "COHORT")]
    for t, sites in sites_of.items():
        out.append(("T", t))
        out.extend(("S", t, s) for s in sites)
    return out


def build(rng: random.Random, kind: MetricKind, kinds: dict[str, str] = KINDS,
          sites_of: dict[str, list[str]] = SITES) -> Cube:
    cells: dict[Key, Cell] = {}

    def add(key: Key, den: int, num: int | None) -> None:
        cell = cells.setdefault(key, Cell(0, None if num is None else 0))
        cell.den += den
        if num is not None:
            cell.num = (cell.num or 0) + num

    for t, sites in sites_of.items():
        for s in sites:
            for i, month in enumerate(MONTHS):
                den = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 30])
                num = None if kind is not MetricKind.RATE else rng.randint(0, den)
                quarter, year = QUARTERS[i // 3], "2024-01-01"
                for entity in (("S", t, s), ("T", t), ("K", kinds[t]), ("N",)):
                    for grain, period in (("MONTH", month), ("QUARTER", quarter), ("YEAR", year)):
                        if den:
                            add((entity, grain, period), den, num)
    return Cube(kind, cells, kinds)


def relations(kinds: dict[str, str] = KINDS, sites_of: dict[str, list[str]] = SITES) -> list[Relation]:
    """Written out independently of the implementation: what any reader knows about how the figures add up."""
    out: list[Relation] = []
    periods = [("MONTH", m) for m in MONTHS] + [("QUARTER", q) for q in QUARTERS] + [("YEAR", "2024-01-01")]
    for grain, p in periods:
        out.append(((("N",), grain, p), [(("K", "REGION"), grain, p), (("K", "COHORT"), grain, p)]))
        for k in ("REGION", "COHORT"):
            out.append(((("K", k), grain, p), [(("T", t), grain, p) for t in kinds if kinds[t] == k]))
        for t, sites in sites_of.items():
            out.append(((("T", t), grain, p), [(("S", t, s), grain, p) for s in sites]))
    for e in entities(sites_of):
        out.append(((e, "QUARTER", QUARTERS[0]), [(e, "MONTH", m) for m in MONTHS[:3]]))
        out.append(((e, "QUARTER", QUARTERS[1]), [(e, "MONTH", m) for m in MONTHS[3:]]))
        out.append(((e, "YEAR", "2024-01-01"), [(e, "QUARTER", q) for q in QUARTERS]))
    return out


POLICIES = [FLOOR, DisclosurePolicy(min_count=7), DisclosurePolicy(min_count=5, min_denominator=25, round_to=5)]


@pytest.mark.parametrize("seed", range(60))
def test_no_small_count_is_shown_and_none_can_be_recovered(seed: int) -> None:
    cube = build(random.Random(seed), MetricKind.COUNT)
    union_shown: set[Hashable] = set()
    for policy in POLICIES:
        pattern = cube.pattern(policy)
        for key, cell in cube.cells.items():
            figure = pattern.figure(key)
            if 0 < cell.den < policy.min_count:
                assert figure.suppressed
                assert figure.value is None
                assert figure.reason is Reason.SMALL_COUNT
            if figure.suppressed:
                assert figure.value is None
            else:
                union_shown.add(key)
        assert not recoverable(relations(), set(pattern.den_hidden))
    # Every policy shows a subset of what the floor shows, so mixing policies reveals nothing more.
    assert union_shown == {k for k in cube.cells if k not in cube.pattern(FLOOR).den_hidden}


@pytest.mark.parametrize("seed", range(60))
def test_rate_numerators_cannot_be_recovered(seed: int) -> None:
    cube = build(random.Random(1000 + seed), MetricKind.RATE)
    for policy in POLICIES:
        pattern = cube.pattern(policy)
        for key, cell in cube.cells.items():
            figure = pattern.figure(key)
            num = cell.num or 0
            small = 0 < num < policy.min_count or 0 < cell.den - num < policy.min_count
            if cell.den < policy.min_denominator or small:
                assert figure.value is None
                assert figure.suppressed
                assert figure.numerator is not None
                assert figure.numerator.value is None
        assert not recoverable(relations(), set(pattern.split_hidden))
        assert not recoverable(relations(), set(pattern.den_hidden))
        assert set(pattern.den_hidden) <= set(pattern.split_hidden)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", [MetricKind.COUNT, MetricKind.RATE])
def test_many_tenants_audited_group_by_group_still_reveal_nothing(seed: int, kind: MetricKind) -> None:
    cube = build(random.Random(5000 + seed), kind, MANY_KINDS, MANY_SITES)
    links = relations(MANY_KINDS, MANY_SITES)
    for policy in (FLOOR, DisclosurePolicy(min_count=7, min_denominator=20)):
        pattern = cube.pattern(policy)
        assert not recoverable(links, set(pattern.den_hidden))
        assert not recoverable(links, set(pattern.split_hidden))
        for key, cell in cube.cells.items():
            if 0 < cell.den < policy.min_count:
                assert key in pattern.den_hidden


def test_a_lone_small_cell_takes_a_second_with_it() -> None:
    values: dict[Entity, int] = {("S", "t1", "a"): 3, ("S", "t1", "b"): 40, ("S", "t1", "c"): 9, ("T", "t1"): 52,
                                 ("K", "REGION"): 52, ("N",): 52}
    cells = {(e, grain, "2024-01-01"): Cell(v) for e, v in values.items() for grain in ("MONTH", "QUARTER", "YEAR")}
    pattern = Cube(MetricKind.COUNT, cells, {"t1": "REGION"}).pattern(FLOOR)

    def shown(entity: Entity, grain: str = "MONTH") -> Figure:
        return pattern.figure((entity, grain, "2024-01-01"))

    assert shown(("S", "t1", "a")).reason is Reason.SMALL_COUNT
    assert shown(("S", "t1", "a"), "YEAR").suppressed
    assert shown(("S", "t1", "c"), "YEAR").reason is Reason.SECONDARY        # the year is that one month
    assert shown(("S", "t1", "c")).reason is Reason.SECONDARY                # the smallest other part
    assert shown(("S", "t1", "b")).value == 40
    assert shown(("T", "t1")).value == 52


def test_a_hidden_kind_total_that_a_group_leaves_free_takes_nothing_more_with_it() -> None:
    """The cohorts' total is a small count and the regions' total goes with it (the nation's relation), so both are
    hidden shared cells; the cohorts' group's system leaves them free, which witnesses them: nothing beyond the local
    rule's choices is hidden, and the national total stays shown."""
    values: dict[Entity, int] = {("S", "r1", "a"): 20, ("S", "r1", "b"): 30, ("T", "r1"): 50, ("S", "r2", "a"): 40,
                                 ("S", "r2", "b"): 45, ("T", "r2"): 85, ("K", "REGION"): 135, ("S", "c1", "a"): 3,
                                 ("T", "c1"): 3, ("K", "COHORT"): 3, ("N",): 138}
    cells = {(e, grain, "2024-01-01"): Cell(v) for e, v in values.items() for grain in ("MONTH", "QUARTER", "YEAR")}
    pattern = Cube(MetricKind.COUNT, cells, {"r1": "REGION", "r2": "REGION", "c1": "COHORT"}).pattern(FLOOR)
    hidden = {key[0] for key in pattern.den_hidden}
    assert hidden == {("K", "COHORT"), ("K", "REGION"), ("T", "c1"), ("S", "c1", "a"), ("T", "r1"), ("S", "r1", "a")}
    assert pattern.figure((("N",), "YEAR", "2024-01-01")).value == 138


def test_rounding_and_policy_floor() -> None:
    cells: dict[Key, Cell] = {(("N",), "MONTH", "2024-01-01"): Cell(23)}
    pattern = Cube(MetricKind.COUNT, cells, {}).pattern(DisclosurePolicy(round_to=5))
    assert pattern.figure((("N",), "MONTH", "2024-01-01")).value == 25
    for weaker in (DisclosurePolicy(min_count=1), DisclosurePolicy(min_denominator=2), DisclosurePolicy(round_to=0)):
        with pytest.raises(InvalidInput):
            weaker.checked()


def test_median_matches_percentile_cont() -> None:
    from collections import Counter
    assert median_of(Counter({30.0: 1, 40.0: 1, 60.0: 1})) == 40.0
    assert median_of(Counter({30.0: 1, 40.0: 1})) == 35.0
    assert median_of(Counter({1.0: 3, 9.0: 1})) == 1.0
    assert median_of(Counter()) is None


class _SortedNeighbours(Cube):
    """The choice of the cell to hide next as first written: every member of every relation around the cell, sorted
    by (not the cell's group, denominator, key). Cube._nearest_in_relations must choose the same without reading
    a kind's whole relation each time."""

    def _nearest_visible(self, start: Key, hidden: dict[Key, Reason], group: tuple[int, str]) -> Key | None:
        seen, frontier = {start}, [start]
        while frontier:
            members = {m for cell in frontier for i in self.member_of[cell]
                       for m in (self.relations[i][0], *self.relations[i][1]) if self.den(m) > 0}
            visible = sorted((self._group(m) != group, self.den(m), m) for m in members if m not in hidden)
            if visible:
                return visible[0][2]
            frontier = [m for m in members if m not in seen]
            seen.update(frontier)
        return None


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("kind", [MetricKind.COUNT, MetricKind.RATE])
def test_ranked_choice_of_the_next_cell_to_hide_equals_sorting_every_neighbour(seed: int, kind: MetricKind) -> None:
    rng = random.Random(9000 + seed)
    tenants = rng.randint(GROUP_SIZE, 6 * GROUP_SIZE)
    kinds = {f"g{i:02d}": "COHORT" if rng.random() < 0.3 else "REGION" for i in range(tenants)}
    sites = {t: ["a", "b", "c"][: rng.randint(1, 3)] for t in kinds}
    fast = build(random.Random(seed), kind, kinds, sites)
    reference = _SortedNeighbours(kind, fast.cells, kinds)
    for policy in (FLOOR, DisclosurePolicy(min_count=7, min_denominator=20)):
        ours, theirs = fast.pattern(policy), reference.pattern(policy)
        assert ours.den_hidden == theirs.den_hidden
        assert ours.split_hidden == theirs.split_hidden
