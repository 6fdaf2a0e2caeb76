"""Planning a document into SQL. Raises :class:`NotCompilable` for anything without declared SQL."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_named_type,
    parse,
    validate,
    visit,
)

if TYPE_CHECKING:
    from service.kernel.principal import Principal
    from service.kernel.session import TenantSession
    from service.kernel.visibility import Scope
    from service.kernel.work import UnitOfWork

from service.api.model import Computed, Many, Models, Scalar, global_id, rows_visible_to
from service.kernel import audit
from service.kernel.principal import Role
from service.people.repository import scope_select


class NotCompilable(Exception):
    """The document uses something the compiler does not plan; the ordinary executor answers it."""


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller's scope left for the statement to work out itself (people.repository.scope_select, in its CTE
    ``caller``), from the codes of their sites (None: the whole tenant) and their subject: one round trip fewer
    than reading the scope first. A page given this reads the scope as :data:`SCOPE_SITES` and :data:`SCOPE_ME`."""

    site_codes: list[str] | None


@dataclass(frozen=True, slots=True)
class Page:
    """The root rows: ``sql`` selects ``id`` and ``ord`` (1-based position) for up to ``first + 1`` rows, visible to
    ``scope`` (the caller's, which the statement also applies below the root where a relation leaves the record):
    read already (its values are parameters after the statement's own), or a :class:`Caller` to work out."""

    sql: str
    params: list[Any]
    first: int
    scope: Scope | Caller
    # Views the root itself records, whatever rows it shows (as its resolver does): (subject type, the number of the
    # parameter holding the uuid of both the subject and its young adult), e.g. one young adult's audit trail.
    views: tuple[tuple[str, int], ...] = ()

    @property
    def scope_params(self) -> tuple[Any, ...]:
        """The parameters that end the statement's: the scope's (Scope.args), or the caller's site codes."""
        return (self.scope.site_codes,) if isinstance(self.scope, Caller) else self.scope.args


# The caller's scope inside a compiled statement (its CTE ``scope``), for the visibility predicate; and the caller's
# practitioner record when the caller is a practitioner (the ``{me}`` of need-to-know rules, model.NeedToKnow).
SCOPE_SITES, SCOPE_ME = "(SELECT sites FROM scope)::uuid[]", "(SELECT me FROM scope)"
CALLER = "(SELECT practitioner FROM scope)"


# (the request's tenant session, the principal, the root field's arguments) -> the page, or None to fall back
PageBuilder = Callable[["TenantSession", "Principal", dict[str, Any]], Awaitable[Page | None]]


@dataclass(frozen=True, slots=True)
class RootField:
    """A root field the compiler can plan: its node type and how to select a page of ids. A connection answers the
    page as edges; otherwise the field returns one object (``first`` is 1), or null when the page is empty; or, when
    ``many``, a list of all the page's rows.

    ``generic_plan``: run the statement with the plan PostgreSQL prepared once for it. Left to choose, PostgreSQL
    plans a prepared statement afresh on every execution when it estimates that cheaper, and for a whole record
    (some sixty relations) it always does, although the parameters (an id, the scope) never change the best plan:
    measured on the benchmark's record, planning took 9.8 ms against 4.8 ms of execution (EXPLAIN ANALYZE), and 110
    executions made 110 custom plans and no generic one."""

    name: str
    node_type: str
    arguments: dict[str, Any]  # argument name -> default
    page: PageBuilder
    connection: bool = True
    generic_plan: bool = False
    many: bool = False


@dataclass(frozen=True, slots=True)
class Disclosure:
    """A need-to-know view the ordinary resolvers would record: for each ``type_name`` row ``path`` (FROM … JOINs)
    reaches, ``subject`` and ``young_adult`` being SQL over that path, a DISCLOSE of the ``disclosed`` fields (name,
    the value's SQL) whose value is not null."""

    type_name: str
    subject: str
    path: str
    young_adult: str
    disclosed: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Subjects:
    """The CONSULTs the ordinary resolvers would record below one row: queries (``select``, ``source``) whose rows
    are (subject type, subject id, young adult, n), evaluated where the row's alias (and its ancestors') are bound.
    ``source`` is empty for the row's own views (a SELECT of the row's columns, no FROM)."""

    queries: tuple[tuple[str, str], ...]

    def union(self) -> str:
        return " UNION ALL ".join(f"SELECT {select}{source}" for select, source in self.queries)

    def lateral(self, alias: str) -> str:
        """The join that evaluates these subjects once for each row the FROM before it gives, as ``alias``."""
        return f" CROSS JOIN LATERAL ({self.union()}) AS {alias}"

    def below(self, rows: str, alias: str, on: str) -> tuple[str, str]:
        """These subjects for every row ``alias`` of the FROM item ``rows`` that ``on`` picks below its parent
        (_Planner.relation): one walk of the relation, its rows' own views and those of their children together (a
        LATERAL over each row)."""
        if len(self.queries) == 1 and not self.queries[0][1]:
            return self.queries[0][0], f" FROM {rows} WHERE {on}"
        return f"x{alias}.*", f" FROM {rows}{self.lateral(f'x{alias}')} WHERE {on}"


def relation(table: str, alias: str, where: str, first: str | None) -> tuple[str, str]:
    """The rows ``alias`` of ``table`` a relation picks below its parent, as a FROM item that may follow others (a
    JOIN's right side, or first in a FROM) and its condition: those ``where`` picks, or, with ``first`` (an order),
    the first of them alone."""
    if first is None:
        return f"{table} {alias}", where
    return f"LATERAL (SELECT {alias}.* FROM {table} {alias} WHERE {where} ORDER BY {first} LIMIT 1) {alias}", "true"


# A computed field (model.Computed) stands in the statement's JSON as {"\u0001": its index in
# CompiledOperation.computed, "inputs": {…}}: a key no other object in the answer has (text is escaped, and a
# document selecting a JSON scalar beside a computed field is not compiled), for the executor to find and replace.
COMPUTED_MARK = "chr(1)"


@dataclass(frozen=True, slots=True)
class CompiledOperation:
    document_hash: str
    root: RootField
    arguments: dict[str, Any]  # argument -> a value with ("variable", name) markers where variables go
    variable_defaults: dict[str, Any]
    select_json: str  # the response expression over CTEs `page`, `shown` and `request`
    # Queries over the CTEs whose rows are the CONSULTs the response records, as (subject type, subject id, young
    # adult, n): one walk from the page's rows down the relations the document follows (Subjects), each once.
    consults: tuple[str, ...]
    consulted: int  # the number of views the walks number (their n): the disclosures' are numbered after them
    computed: tuple[Computed, ...]  # the fields the statement leaves as their inputs (COMPUTED_MARK), by index
    disclosures: tuple[Disclosure, ...]
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    # What the computed fields read through the unit of work (model.Computed.reads), each once: the executor asks
    # for them before the statement, and the request path may read them with the grant (the rule book). Worked out
    # once, here, not on each of a request's two askings.
    reads: tuple[Callable[[UnitOfWork], Awaitable[object]], ...] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", tuple(dict.fromkeys(
            computed.reads for computed in self.computed if computed.reads is not None)))

    def argument_values(self, variables: dict[str, Any]) -> dict[str, Any]:
        """The root field's arguments with the request's variables in place (absent ones left out)."""
        def fill(value: Any) -> Any:
            if isinstance(value, Variable):
                found = variables.get(value.name, self.variable_defaults.get(value.name, _ABSENT))
                return found
            if isinstance(value, dict):
                return {k: v for k, v in ((k, fill(v)) for k, v in value.items()) if v is not _ABSENT}
            return value
        values = dict(self.root.arguments)
        values.update({k: v for k, v in ((k, fill(v)) for k, v in self.arguments.items()) if v is not _ABSENT})
        return values

    def statement(self, page: Page) -> str:
        """The whole response as one statement. Parameters after the page's: the actor's subject, role, the
        request id, the operation name (the audit trail's), the response's extensions, the request's day, then the
        caller's scope (Page.scope_params)."""
        n = len(page.params)
        if isinstance(page.scope, Caller):
            caller = f"caller AS ({scope_select(f'${n + 7}::text[]', f'${n + 1}::text')}), "
            sites, me = "(SELECT site_ids FROM caller)", "(SELECT practitioner_id FROM caller)"
        else:
            caller, sites, me = "", f"${n + 7}::uuid[]", f"${n + 8}::uuid"
        sources = [f"SELECT 'CONSULT', c.type, c.subject, c.young_adult, '{{}}'::text[], c.n "
                   f"FROM ({walk}) AS c (type, subject, young_adult, n)" for walk in self.consults]
        sources += [f"SELECT 'CONSULT', '{type_name}', ${p}::uuid, ${p}::uuid, '{{}}'::text[], "
                    f"{self.consulted + len(self.disclosures) + i}" for i, (type_name, p) in enumerate(page.views)]
        if self.disclosures:  # one DISCLOSE per row, naming every need-to-know field shown with a value
            shown = " UNION ALL ".join(
                f"SELECT '{d.type_name}', {d.subject}, {d.young_adult}, v.name, {self.consulted + i} "
                f"FROM {d.path} CROSS JOIN LATERAL (VALUES "
                + ", ".join(f"('{name}', {value})" for name, value in d.disclosed)
                + ") AS v (name, value) WHERE v.value IS NOT NULL"
                for i, d in enumerate(self.disclosures))
            sources.append("SELECT 'DISCLOSE', x.type, x.id, x.young_adult, "
                           "array_agg(DISTINCT x.name ORDER BY x.name), min(x.n) "
                           f"FROM ({shown}) AS x (type, id, young_adult, name, n) "
                           "GROUP BY x.type, x.id, x.young_adult")
        # One INSERT for every row shown (a single data-modifying CTE: it runs whether or not it is read).
        audits = "" if not sources else f", audit AS ({audit.insert(' UNION ALL '.join(sources), n + 1)})"
        # The scope's CTE names every parameter, so a statement that records nothing still types them all.
        return (f"WITH {caller}scope AS (SELECT {sites} AS sites, {me} AS me, CASE WHEN ${n + 2}::text = "
                f"'{Role.PRACTITIONER.value}' THEN {me} END AS practitioner, ${n + 1}::text AS subject, "
                f"${n + 3}::text AS request_id, ${n + 4}::text AS operation), page AS ({page.sql}), "
                f"shown AS (SELECT id, ord FROM page WHERE ord <= {page.first:d}), "
                f"request AS (SELECT ${n + 6}::date AS today){audits} "
                f"SELECT json_build_object('data', {self.select_json}, 'extensions', ${n + 5}::json)::text")


@dataclass(frozen=True, slots=True)
class Variable:
    name: str


_ABSENT = object()


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _Planner:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], models: Models) -> None:
        self.fragments = fragments
        self.models = models
        self.aliases = 0
        self.consulted = 0  # views numbered so far (Subjects' n)
        self.consults: list[str] = []
        self.disclosures: list[Disclosure] = []
        self.computed: list[Computed] = []
        self.hoisted: dict[str, dict[str, str]] = {}  # alias -> {input SQL: its column} (input(), shared())

    def alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    def view(self, type_name: str, subject: str, young_adult: str) -> tuple[str, str]:
        """A CONSULT of ``subject`` (SQL over the row being planned), numbered in the order of planning."""
        self.consulted += 1
        return f"'{type_name}', {subject}, {young_adult}, {self.consulted - 1}", ""

    def walk(self, subjects: Subjects, reached: str) -> None:
        """The CONSULTs below a page's rows, ``reached`` (FROM … JOIN) giving each row."""
        if subjects.queries:
            n = len(self.consults)
            self.consults.append(f"SELECT x{n}.* FROM {reached}{subjects.lateral(f'x{n}')}")

    def fields(self, selection_set: SelectionSetNode | None, type_name: str) -> list[FieldNode]:
        """The fields selected on `type_name`, fragments flattened, in the order the executor would answer them."""
        if selection_set is None:
            raise NotCompilable("a leaf was given a selection")
        out: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if selection.type_condition is not None and selection.type_condition.name.value != type_name:
                    raise NotCompilable("a fragment on another type")
                out += self.fields(selection.selection_set, type_name)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if fragment.type_condition.name.value != type_name:
                    raise NotCompilable("a fragment on another type")
                out += self.fields(fragment.selection_set, type_name)
        keys = [(f.alias or f.name).value for f in out]
        if len(keys) != len(set(keys)):
            raise NotCompilable("a response key selected twice")  # the executor would merge them
        if len(keys) > 50:
            raise NotCompilable("json_build_object takes at most 100 arguments")
        return out

    def object(self, type_name: str, selection_set: SelectionSetNode | None, alias: str, path: str,
               young_adult: str | None = None, under_consulted: bool = False, owner: str | None = None,
               ) -> tuple[str, Subjects]:
        """JSON for one row ``alias`` of ``type_name``, and the views showing it records; ``path`` is the FROM clause
        that reaches it from the page (for its disclosures; it may reach one row more than once: the audit INSERT
        counts each subject once). ``young_adult`` is the parent's young adult when the parent is a consulted part
        of a record (None otherwise): a relation between consulted types stays inside one young adult's record
        (model.Consulted), so the child's is the same expression and the audit needs no lookup per row; a child
        ``covered_by_parent`` is then not recorded (``under_consulted``: the parent is consulted, whether or not the
        relation stays in its record). ``owner``: the row whose FROM binds what ``young_adult`` reads, where the
        computed fields' inputs over the young adult alone are worked out, once (see :meth:`shared`)."""
        model = self.models.get(type_name)
        if model is None or model.table is None:
            raise NotCompilable(f"no SQL declared for {type_name}")
        subjects: list[tuple[str, str]] = []
        if model.consulted is not None:
            if young_adult is None:
                young_adult, owner = model.consulted.young_adult.format(t=alias), alias
            if not (model.consulted.covered_by_parent and under_consulted):
                subjects.append(self.view(type_name, f"{alias}.id", young_adult))
        else:
            young_adult = None
        disclosed: list[tuple[str, str]] = []
        pairs = []
        for node in self.fields(selection_set, type_name):
            key, name = (node.alias or node.name).value, node.name.value
            if node.arguments:
                raise NotCompilable("arguments below the root")
            if name == "__typename":
                pairs.append(f"'{key}', '{type_name}'")
                continue
            if model.need_to_know is not None and name in model.need_to_know.fields:
                value = model.need_to_know.value(name).format(t=alias, me=CALLER)
                pairs.append(f"'{key}', {value}")
                disclosed.append((name, value))
                continue
            spec = model.fields.get(name)
            if spec is None:
                raise NotCompilable(f"{type_name}.{name} has no SQL declared")
            if name in model.consulted_fields:
                # a view of a part of the record with no rows of its own: the young adult is the subject
                assert young_adult is not None, f"{type_name} has fields recorded as views, so it is consulted"
                subjects.append(self.view(model.consulted_fields[name], young_adult, young_adult))
            if isinstance(spec, Scalar):
                if node.selection_set is not None:
                    raise NotCompilable("selection on a scalar")
                pairs.append(f"'{key}', {spec.expr.format(t=alias, me=CALLER)}")
            elif isinstance(spec, Computed):
                if node.selection_set is not None:
                    raise NotCompilable("selection on a scalar")
                inputs = ", ".join(f"'{k}', {self.input(v, alias, young_adult, owner)}"
                                   for k, v in spec.inputs.items())
                pairs.append(f"'{key}', json_build_object({COMPUTED_MARK}, {len(self.computed)}, "
                             f"'inputs', json_build_object({inputs}))")
                self.computed.append(spec)
            else:
                child = self.alias()
                table, where = self._table(spec.type_name), spec.where.format(c=child, p=alias)
                order = None if spec.order is None else spec.order.format(c=child, p=alias)
                if spec.leaves_record:  # the child may be another young adult's: shown only where visible
                    where = f"{where} AND {self.visible(spec.type_name, child, young_adult)}"
                first = None if isinstance(spec, Many) else order  # a One with an order: the first row it picks
                picked, on = relation(table, child, where, first)
                item, below = self.object(spec.type_name, node.selection_set, child, f"{path} JOIN {picked} ON {on}",
                                          None if spec.leaves_record else young_adult, young_adult is not None,
                                          None if spec.leaves_record else owner)
                if below.queries:
                    subjects.append(below.below(picked, child, on))
                rows = f"{table} {child}{self.shared(child)} WHERE {where}"
                if isinstance(spec, Many):
                    pairs.append(f"'{key}', (SELECT coalesce(json_agg({item} ORDER BY {order}), '[]'::json) "
                                 f"FROM {rows})")
                elif first is not None:
                    pairs.append(f"'{key}', (SELECT {item} FROM {rows} ORDER BY {first} LIMIT 1)")
                else:
                    pairs.append(f"'{key}', (SELECT {item} FROM {rows})")
        if disclosed:
            assert young_adult is not None, f"{type_name} has need-to-know fields, so it must be consulted"
            self.disclosures.append(Disclosure(type_name, f"{alias}.id", path, young_adult, tuple(disclosed)))
        return f"json_build_object({', '.join(pairs)})", Subjects(tuple(subjects))

    def visible(self, type_name: str, alias: str, young_adult: str | None) -> str:
        """SQL true when the row ``alias`` of ``type_name``, reached by a relation that may leave the record, is
        visible to the caller. Every consulted row the statement shows belongs to a young adult the caller sees (the
        page's rows are filtered by the predicate, a child inside the record is its parent's young adult's, and one
        outside it passed this test), so a child of the parent's own young adult (``young_adult``, when the parent
        is consulted) is visible without the predicate's lookups: a network member at their own meeting, say."""
        model = self.models[type_name]
        predicate = rows_visible_to(model, alias, SCOPE_SITES, SCOPE_ME)
        if young_adult is None or model.young_adult is None:
            return predicate
        return f"({model.young_adult.format(t=alias)} = {young_adult} OR {predicate})"

    def input(self, sql: str, alias: str, young_adult: str | None, owner: str | None) -> str:
        """A computed field's input (model.Computed) for the row ``alias``: one over the young adult and the day
        alone is the same for every row and field of that young adult (the governing site of a record's two plan
        versions, four fields), so it is worked out once, beside the row that names the young adult (its owner)."""
        today = "(SELECT today FROM request)"
        if "{young_adult}" not in sql:
            return sql.format(t=alias, today=today)
        if young_adult is None or owner is None:
            raise NotCompilable("a computed field's input reads the young adult of a row without one")
        if "{t}" in sql:
            return sql.format(t=alias, today=today, young_adult=young_adult)
        names = self.hoisted.setdefault(owner, {})
        name = names.setdefault(sql.format(today=today, young_adult=young_adult), f"v{len(names)}")
        return f"{owner}v.{name}"

    def shared(self, alias: str) -> str:
        """The FROM item working out, once per row ``alias``, the inputs hoisted beside it (:meth:`input`)."""
        names = self.hoisted.pop(alias, None)
        if not names:
            return ""
        # OFFSET 0: kept a subquery, so that PostgreSQL does not pull it up and write the SQL back where it is read
        columns = ", ".join(f"{sql} AS {n}" for sql, n in names.items())
        return f" CROSS JOIN LATERAL (SELECT {columns} OFFSET 0) AS {alias}v"

    def _table(self, type_name: str, root: bool = False) -> str:
        """The FROM item for rows of ``type_name``. A root's rows are reached from the page's row ``s``: a type
        whose rows have no id of their own declares its table as a LATERAL subquery over ``{s}`` (model.TypeModel),
        so it is reached from a root only."""
        model = self.models.get(type_name)
        if model is None or model.table is None:
            raise NotCompilable(f"no SQL declared for {type_name}")
        if "{s}" in model.table and not root:
            raise NotCompilable(f"{type_name} is reached from a root only")
        return model.table.replace("{s}", "s")

    def every(self, root: RootField, selection_set: SelectionSetNode | None) -> str:
        """The page's rows as a list, in their order (a root that is a list)."""
        table, row = self._table(root.node_type, root=True), self.alias()
        reached = f"shown s JOIN {table} {row} ON {row}.id = s.id"
        item, subjects = self.object(root.node_type, selection_set, row, reached)
        self.walk(subjects, reached)
        return f"(SELECT coalesce(json_agg({item} ORDER BY s.ord), '[]'::json) FROM {reached}{self.shared(row)})"

    def single(self, root: RootField, selection_set: SelectionSetNode | None) -> str:
        """The root's one object (the page holds at most one id), or null."""
        table, row = self._table(root.node_type, root=True), self.alias()
        reached = f"shown s JOIN {table} {row} ON {row}.id = s.id"
        item, subjects = self.object(root.node_type, selection_set, row, reached)
        self.walk(subjects, reached)
        return f"(SELECT {item} FROM {reached}{self.shared(row)})"

    def connection(self, root: RootField, selection_set: SelectionSetNode | None) -> str:
        node_type = root.node_type
        cursor = global_id("cursor", "s.id").expr
        pairs = []
        for node in self.fields(selection_set, f"{node_type}Connection"):
            key, name = (node.alias or node.name).value, node.name.value
            if name == "__typename":
                pairs.append(f"'{key}', '{node_type}Connection'")
            elif name == "edges":
                row, table = self.alias(), self._table(node_type, root=True)
                edge = []
                for e in self.fields(node.selection_set, f"{node_type}Edge"):
                    ekey, ename = (e.alias or e.name).value, e.name.value
                    if ename == "cursor":
                        edge.append(f"'{ekey}', {cursor}")
                    elif ename == "node":
                        reached = f"shown s JOIN {table} {row} ON {row}.id = s.id"
                        node_json, subjects = self.object(node_type, e.selection_set, row, reached)
                        self.walk(subjects, reached)
                        edge.append(f"'{ekey}', {node_json}")
                    elif ename == "__typename":
                        edge.append(f"'{ekey}', '{node_type}Edge'")
                    else:
                        raise NotCompilable(f"edge field {ename}")
                pairs.append(f"'{key}', (SELECT coalesce(json_agg(json_build_object({', '.join(edge)}) "
                             f"ORDER BY s.ord), '[]'::json) FROM shown s JOIN {table} {row} "
                             f"ON {row}.id = s.id{self.shared(row)})")
            elif name == "pageInfo":
                info = []
                for f in self.fields(node.selection_set, "PageInfo"):
                    fkey, fname = (f.alias or f.name).value, f.name.value
                    if fname == "hasNextPage":
                        info.append(f"'{fkey}', (SELECT count(*) FROM page) > (SELECT count(*) FROM shown)")
                    elif fname == "endCursor":
                        info.append(f"'{fkey}', (SELECT {cursor} FROM shown s ORDER BY s.ord DESC LIMIT 1)")
                    elif fname == "__typename":
                        info.append(f"'{fkey}', 'PageInfo'")
                    else:
                        raise NotCompilable(f"pageInfo field {fname}")
                pairs.append(f"'{key}', json_build_object({', '.join(info)})")
            else:
                raise NotCompilable(f"connection field {name}")
        return f"json_build_object({', '.join(pairs)})"


def _literal(value: Any) -> Any:
    """A literal or variable in an argument, as JSON-like Python (what the request's variables look like)."""
    if isinstance(value, VariableNode):
        return Variable(value.name.value)
    if isinstance(value, StringValueNode | EnumValueNode):
        return value.value
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, BooleanValueNode):
        return value.value
    if isinstance(value, NullValueNode):
        return None
    if isinstance(value, ObjectValueNode):
        return {f.name.value: _literal(f.value) for f in value.fields}
    raise NotCompilable("a literal argument of another kind")


def _selects_json(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether the document selects a field of the JSON scalar type anywhere."""
    info = TypeInfo(schema)
    found = []

    class Fields(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            field = info.get_type()
            if field is not None and get_named_type(field).name == "JSON":
                found.append(node)

    visit(document, TypeInfoVisitor(info, Fields()))
    return bool(found)


def compile_document(text: str, schema: GraphQLSchema, roots: Sequence[RootField], models: Models,
                     ) -> CompiledOperation:
    document: DocumentNode = parse(text)
    if validate(schema, document):
        raise NotCompilable("the document is not valid against the schema")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        raise NotCompilable("only single-query documents compile")
    (operation,) = operations
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    planner = _Planner(fragments, models)
    top = planner.fields(operation.selection_set, "Query")
    if len(top) != 1:
        raise NotCompilable("exactly one root field compiles")
    (field,) = top
    root = next((r for r in roots if r.name == field.name.value), None)
    if root is None:
        raise NotCompilable(f"root field {field.name.value} is not compiled")
    arguments: dict[str, Any] = {}
    for argument in field.arguments or ():
        if argument.name.value not in root.arguments:
            raise NotCompilable(f"argument {argument.name.value}")
        arguments[argument.name.value] = _literal(argument.value)
    defaults = {d.variable.name.value: _literal(d.default_value) for d in operation.variable_definitions or ()
                if d.default_value is not None}
    key = (field.alias or field.name).value
    answer = planner.connection if root.connection else planner.every if root.many else planner.single
    select = f"json_build_object('{key}', {answer(root, field.selection_set)})"
    assert not planner.hoisted, "every row's FROM works out the inputs hoisted beside it"
    if planner.computed and _selects_json(schema, document):
        raise NotCompilable("a JSON scalar could hold an object like a computed field's stand-in")
    return CompiledOperation(document_hash(text), root, arguments, defaults, select, tuple(planner.consults),
                             planner.consulted, tuple(planner.computed), tuple(planner.disclosures), operation,
                             fragments)
