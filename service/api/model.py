"""One declarative description per GraphQL type, read by both executors.

A feature declares each of its types once (``service/<feature>/model.py``): the table, the SQL for each field
(columns and expressions over the row's alias ``{t}``; relations over ``{c}`` the child and ``{p}`` the parent),
and the audit policy: whether showing a row records a CONSULT of it, and which need-to-know fields record a
DISCLOSE when shown. The ordinary executor applies the policy by a hook on every field that returns the type
(:mod:`service.api.audited`), so no resolver records a view by hand; the compiler (:mod:`service.app.compiled`)
plans SQL from the same fields and writes the same events.

Visibility is declared too: a consulted type's ``young_adult`` SQL names the young adult its rows belong to, and the
one predicate of :mod:`service.kernel.visibility` is applied to that young adult (:func:`rows_visible`) by the
compiler at every root and by the resolvers' repositories wherever they read rows of the type. Below a root, a
relation is assumed to stay inside the parent's record (so the child is visible with it) unless it is declared
``leaves_record``: then both executors filter the child rows by their own declaration.

A field without a declaration is resolved by its strawberry resolver only, and documents that select it are not
compiled; the service names such fields in one log line at start-up.

Values must render exactly as strawberry renders them: enums as their names (our enum values are their names),
dates as ISO strings (PostgreSQL's JSON for a date), global ids as :func:`service.api.relay.to_global_id` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from service.api.relay import global_id_sql
from service.kernel.visibility import visible_to, young_adult_visible_to

if TYPE_CHECKING:
    from service.kernel.work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Scalar:
    """A leaf: an SQL expression over the row's alias ``{t}``."""

    expr: str


@dataclass(frozen=True, slots=True)
class Many:
    """A list of ``type_name`` rows: ``where`` joins child ``{c}`` to parent ``{p}``, ``order`` sorts them (over
    ``{c}`` and ``{p}``). ``leaves_record``: the rows may belong to another young adult than the parent's (nothing in
    the database ties them to it), so each is shown only where the caller sees its own young adult."""

    type_name: str
    where: str
    order: str
    leaves_record: bool = False


@dataclass(frozen=True, slots=True)
class One:
    """One ``type_name`` row or null: ``where`` picks it (child ``{c}``, parent ``{p}``), or, with ``order`` (over
    ``{c}`` and ``{p}``), the first of the rows it picks; ``leaves_record`` as for :class:`Many`."""

    type_name: str
    where: str
    leaves_record: bool = False
    order: str | None = None


@dataclass(frozen=True, slots=True)
class Computed:
    """A leaf whose value needs Python (the practice rules in force, say). ``inputs`` are SQL expressions over the
    row's alias ``{t}``, ``{today}`` (the request's day) and ``{young_adult}`` (the row's young adult, for a consulted
    type: an input over it and the day alone is worked out once per young adult, whichever rows and fields ask for
    it) that the statement selects; ``compute`` turns them into
    the value as JSON (enums as their names), given the request's unit of work. The field's resolver computes it with
    the same function, from the same inputs, so there is one definition for both executors.

    ``reads``: what ``compute`` reads through the unit of work (the rule book), which the compiled executor asks for
    before the statement, so that it is read before the request's transaction begins, where it costs least."""

    inputs: Mapping[str, str]
    compute: Callable[[UnitOfWork, Mapping[str, Any]], Awaitable[Any]]
    reads: Callable[[UnitOfWork], Awaitable[object]] | None = None


Field = Scalar | Many | One | Computed


@dataclass(frozen=True, slots=True)
class Consulted:
    """Showing a row of the type records a CONSULT of it. ``young_adult`` is the SQL naming the young adult the
    row belongs to (over ``{t}``); the resolvers' objects carry the same as ``young_adult_attr`` and the row's id
    as ``subject_attr``.

    ``covered_by_parent``: a row shown under a parent of a consulted type is recorded by the parent's event (a plan
    version's goals and actions: the version's CONSULT says its content was shown, and a page of fifty would
    otherwise list a thousand more subjects); reached any other way (``node``) it is recorded itself.

    Invariant: a declared relation from one consulted type to another stays inside one young adult's record (a
    plan's versions, a version's goals…), so the compiler gives a child its parent's young adult.
    """

    young_adult: str
    young_adult_attr: str = "young_adult_id"
    subject_attr: str = "raw_id"
    covered_by_parent: bool = False


@dataclass(frozen=True, slots=True)
class NeedToKnow:
    """Fields only some callers see. ``who`` is SQL over the row ``{t}`` and ``{me}`` (the caller's practitioner
    record when the caller is a practitioner, else NULL), true for a caller with need-to-know; ``when`` is SQL over
    ``{t}``, true while the row's values may be shown to anyone at all. ``fields`` maps each field to the column it
    shows: its value where both hold, null otherwise. Both executors read the values from :meth:`value`, so the
    database never hands a value to a caller without need-to-know; a non-null value shown records a DISCLOSE."""

    who: str
    fields: Mapping[str, str]
    when: str = "true"

    @property
    def shown(self) -> str:
        """SQL (over ``{t}`` and ``{me}``) true when the row's need-to-know values are shown to the caller."""
        return f"(coalesce({self.who}, false) AND coalesce({self.when}, false))"

    def value(self, name: str) -> str:
        return f"(CASE WHEN {self.shown} THEN {{t}}.{self.fields[name]} END)"


@dataclass(frozen=True, slots=True)
class TypeModel:
    """A GraphQL type: its table, its declared fields and its audit policy.

    ``table`` is the table its rows are in, each with its ``id``; for a type whose rows have no id of their own (an
    audit event's subjects), a LATERAL subquery selecting the row with ``id`` for the key that a root's page row
    ``{s}`` holds (such a type is reached from a root only).

    ``need_to_know`` declares its need-to-know fields and who sees them: a non-null value shown records one
    DISCLOSE per row naming every such field shown. ``consulted_fields`` maps a field to the subject type a view of
    it records (for a part of the record with no rows of its own, such as a young adult's timeline), with the
    parent's young adult.
    """

    name: str
    table: str | None = None
    fields: Mapping[str, Field] = field(default_factory=dict)
    consulted: Consulted | None = None
    need_to_know: NeedToKnow | None = None
    consulted_fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def disclosed(self) -> tuple[str, ...]:
        """The need-to-know fields."""
        return () if self.need_to_know is None else tuple(self.need_to_know.fields)

    @property
    def young_adult(self) -> str | None:
        """SQL (over ``{t}``) naming the young adult a row belongs to: what its visibility follows."""
        return None if self.consulted is None else self.consulted.young_adult


Models = Mapping[str, TypeModel]


def rows_visible_to(model: TypeModel, alias: str, sites: str, me: str) -> str:
    """SQL true when the row ``alias`` of ``model`` is visible to the scope given as two SQL expressions: the one
    predicate of service.kernel.visibility, applied to the young adult the declaration names."""
    young_adult = model.young_adult
    if young_adult is None:
        raise ValueError(f"{model.name} declares no young adult, so it has no visibility of its own")
    if model.table == "young_adult" and young_adult == "{t}.id":
        return visible_to(alias, sites, me)
    return young_adult_visible_to(young_adult.format(t=alias), sites, me)


def rows_visible(model: TypeModel, alias: str, first: int) -> str:
    """:func:`rows_visible_to` with the scope in parameters ``$first`` and ``$first + 1`` (Scope.args)."""
    return rows_visible_to(model, alias, f"${first}::uuid[]", f"${first + 1}::uuid")


def global_id(type_name: str, column: str = "{t}.id") -> Scalar:
    return Scalar(global_id_sql(type_name, column))


def timestamp(column: str) -> Scalar:
    """A timestamptz column as strawberry renders the datetime asyncpg reads (``isoformat()`` in UTC: six fractional
    digits, none when they are zero)."""
    at = f"{{t}}.{column}"
    utc = f"{at} AT TIME ZONE 'UTC'"
    return Scalar(f"CASE WHEN {at} IS NULL THEN NULL WHEN extract(microseconds FROM {at})::bigint % 1000000 = 0 "
                  f"THEN to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"') "
                  f"ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') END")


def col(name: str) -> Scalar:
    return Scalar(f"{{t}}.{name}")


def cols(**names: str) -> dict[str, Field]:
    """GraphQL field name = SQL column, for fields that are a column as stored."""
    return {gql: col(sql) for gql, sql in names.items()}


def collect(*groups: tuple[TypeModel, ...]) -> dict[str, TypeModel]:
    """Every feature's declarations by type name; a type declared twice is a mistake."""
    out: dict[str, TypeModel] = {}
    for model in (m for g in groups for m in g):
        assert model.name not in out, f"{model.name} is declared twice"
        out[model.name] = model
    return out
