"""An attacker who knows every published count and that totals add up, and solves for suppressed cells exactly.

Given additive relations (total = sum of parts) and the published values, a suppressed cell is *recovered* when
its value is fixed by the linear system whatever the other suppressed cells are: its unit vector lies in the row
space of the constraints restricted to the unknowns. Exact rational arithmetic; fine for test-sized tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from fractions import Fraction

Relation = tuple[Hashable, Sequence[Hashable]]


def recoverable(relations: Sequence[Relation], unknown: set[Hashable]) -> set[Hashable]:
    order = sorted(unknown, key=repr)
    index = {k: i for i, k in enumerate(order)}
    rows: list[dict[int, Fraction]] = []
    for total, parts in relations:
        row: dict[int, Fraction] = {}
        for cell, sign in ((total, 1), *((p, -1) for p in parts)):
            if cell in index:
                row[index[cell]] = row.get(index[cell], Fraction(0)) + sign
        row = {c: v for c, v in row.items() if v != 0}
        if row:
            rows.append(row)
    pivots: list[tuple[int, dict[int, Fraction]]] = []  # (pivot column, row normalised so the pivot is 1)
    for row in rows:
        row = _reduce(dict(row), pivots)
        if not row:
            continue
        col = min(row)
        factor = row[col]
        row = {c: v / factor for c, v in row.items()}
        # keep earlier pivot rows free of this column (reduced row echelon form)
        pivots = [(pc, _eliminate(pr, col, row)) for pc, pr in pivots]
        pivots.append((col, row))
    found = set()
    for k, i in index.items():
        if not _reduce({i: Fraction(1)}, pivots):
            found.add(k)
    return found


def _eliminate(target: dict[int, Fraction], col: int, row: dict[int, Fraction]) -> dict[int, Fraction]:
    factor = target.get(col)
    if not factor:
        return target
    out = dict(target)
    for c, v in row.items():
        out[c] = out.get(c, Fraction(0)) - factor * v
        if out[c] == 0:
            del out[c]
    return out


def _reduce(vector: dict[int, Fraction], pivots: list[tuple[int, dict[int, Fraction]]]) -> dict[int, Fraction]:
    for col, row in pivots:
        vector = _eliminate(vector, col, row)
    return vector
