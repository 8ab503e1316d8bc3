"""Parse predictive queries (PQL) into validated, frozen query objects.

A query names one aggregation over a fact table's rows in a time window after
each ``as_of`` date, computed for each row of an entity table::

    PREDICT AGG(table.column | table.* [WHERE condition], start, end, unit)
    FOR EACH table.key [WHERE condition]

Names are resolved against ``schema.INPUT_TABLES``; keywords and names are
case-insensitive. Every problem, syntactic or semantic, raises ``QueryError``
with the position of the offending token.

Example:
    >>> q = parse_query(
    ...     "predict sum(CONVERSIONS.REVENUE, 0, 30, day) "
    ...     "for each campaigns.campaign_id"
    ... )
    >>> q.agg, q.fact_table, q.fact_column, q.unit, q.join_column
    ('SUM', 'conversions', 'revenue', 'days', 'campaign_id')
    >>> str(q)
    'PREDICT SUM(conversions.revenue, 0, 30, days) FOR EACH campaigns.campaign_id'
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Union

from lark import Lark, Token, Tree
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from campaign_revenue.schema import INPUT_TABLES, TableSpec

AGGREGATIONS = ("SUM", "COUNT", "COUNT_DISTINCT", "AVG", "MIN", "MAX")
UNITS = ("hours", "days", "weeks", "months")
COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")

NUMERIC_TYPES = ("double", "long")
TIME_TYPES = ("date", "timestamp")
# Largest magnitude an integer literal may have: Spark's long.
_MAX_LONG = 2**63 - 1

Literal = Union[bool, int, float, str, dt.date]

# How the expected terminals of a syntax error are shown, in this order.
_TERMINAL_TEXT = {
    "PREDICT": "PREDICT",
    "SUM": "SUM",
    "COUNT": "COUNT",
    "COUNT_DISTINCT": "COUNT_DISTINCT",
    "AVG": "AVG",
    "MIN": "MIN",
    "MAX": "MAX",
    "NAME": "a name",
    "DOT": "'.'",
    "STAR": "'*'",
    "WHERE": "WHERE",
    "NUMBER": "a number",
    "STRING": "a 'string'",
    "TRUE": "TRUE",
    "FALSE": "FALSE",
    "DATE": "DATE",
    "HOURS": "hours",
    "DAYS": "days",
    "WEEKS": "weeks",
    "MONTHS": "months",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "COMP_OP": "a comparison (=, !=, <, <=, >, >=)",
    "IN": "IN",
    "IS": "IS",
    "NOT": "NOT",
    "NULL": "NULL",
    "AND": "AND",
    "OR": "OR",
    "FOR": "FOR",
    "EACH": "EACH",
    "$END": "end of query",
}
_TERMINAL_ORDER = {name: i for i, name in enumerate(_TERMINAL_TEXT)}


class QueryError(ValueError):
    """A query that cannot be parsed or served, with where and why.

    Attributes:
        reason: what is wrong, without the position.
        line: 1-based line of the offending token (None when unknown).
        column: 1-based column of the offending token (None when unknown).
        token: the offending text as written ('' at the end of the query).
        expected: what would have been accepted there.
    """

    def __init__(
        self,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
        token: str = "",
        expected: tuple[str, ...] = (),
    ) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        self.token = token
        self.expected = expected
        if column is None:
            where = ""
        elif line is not None and line > 1:
            where = f" at line {line}, column {column}"
        else:
            where = f" at column {column}"
        super().__init__(f"query error{where}: {reason}")


# -- query objects -------------------------------------------------------------


def render_literal(value: Literal) -> str:
    """The PQL text of a literal value."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ColumnRef:
    """A column of a known table."""

    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class Comparison:
    """``column op value``; ``op`` is one of ``COMPARISON_OPS`` (``<>`` is ``!=``)."""

    column: ColumnRef
    op: str
    value: Literal

    def __str__(self) -> str:
        return f"{self.column} {self.op} {render_literal(self.value)}"


@dataclass(frozen=True)
class InList:
    """``column [NOT] IN (values...)``."""

    column: ColumnRef
    values: tuple[Literal, ...]
    negated: bool = False

    def __str__(self) -> str:
        values = ", ".join(render_literal(v) for v in self.values)
        keyword = "NOT IN" if self.negated else "IN"
        return f"{self.column} {keyword} ({values})"


@dataclass(frozen=True)
class IsNull:
    """``column IS [NOT] NULL``."""

    column: ColumnRef
    negated: bool = False

    def __str__(self) -> str:
        return f"{self.column} IS {'NOT ' if self.negated else ''}NULL"


@dataclass(frozen=True)
class And:
    left: Condition
    right: Condition

    def __str__(self) -> str:
        return f"{_operand(self.left)} AND {_operand(self.right)}"


@dataclass(frozen=True)
class Or:
    left: Condition
    right: Condition

    def __str__(self) -> str:
        return f"{_operand(self.left)} OR {_operand(self.right)}"


@dataclass(frozen=True)
class Not:
    operand: Condition

    def __str__(self) -> str:
        return f"NOT {_operand(self.operand)}"


Condition = Union[Comparison, InList, IsNull, And, Or, Not]


def _operand(cond: Condition) -> str:
    # Composite operands keep their parentheses so the text re-parses to the
    # same tree.
    if isinstance(cond, (And, Or, Not)):
        return f"({cond})"
    return str(cond)


def condition_columns(cond: Condition) -> list[ColumnRef]:
    """Every column a condition reads, in order of appearance."""
    if isinstance(cond, (And, Or)):
        return condition_columns(cond.left) + condition_columns(cond.right)
    if isinstance(cond, Not):
        return condition_columns(cond.operand)
    return [cond.column]


@dataclass(frozen=True)
class PredictiveQuery:
    """A parsed, validated predictive query.

    Attributes:
        agg: one of ``AGGREGATIONS``.
        fact_table: the table aggregated (``conversions``).
        fact_column: the column aggregated; None for ``table.*`` (COUNT only).
        fact_filter: which fact rows count, or None.
        start: window start in ``unit`` after ``as_of`` (inclusive).
        end: window end in ``unit`` after ``as_of`` (exclusive).
        unit: one of ``UNITS``.
        entity_table: the table with one label per row and as_of date.
        entity_key: that table's key column.
        entity_filter: which entities get labels, or None.
    """

    agg: str
    fact_table: str
    fact_column: str | None
    fact_filter: Condition | None
    start: int
    end: int
    unit: str
    entity_table: str
    entity_key: str
    entity_filter: Condition | None = None

    @property
    def fact_spec(self) -> TableSpec:
        return INPUT_TABLES[self.fact_table]

    @property
    def entity_spec(self) -> TableSpec:
        return INPUT_TABLES[self.entity_table]

    @property
    def join_column(self) -> str:
        """The fact table's foreign key column that points at the entity key."""
        for fk in self.fact_spec.foreign_keys:
            if fk.ref_table == self.entity_table and fk.ref_column == self.entity_key:
                return fk.column
        raise QueryError(
            f"{self.fact_table} has no foreign key to "
            f"{self.entity_table}.{self.entity_key}"
        )

    @property
    def time_column(self) -> str:
        """The fact table's time column, which places a fact in a window."""
        column = self.fact_spec.time_column
        if column is None:
            raise QueryError(f"fact table {self.fact_table} has no time column")
        return column

    def __str__(self) -> str:
        target = f"{self.fact_table}.{self.fact_column or '*'}"
        if self.fact_filter is not None:
            target += f" WHERE {self.fact_filter}"
        text = (
            f"PREDICT {self.agg}({target}, {self.start}, {self.end}, {self.unit}) "
            f"FOR EACH {self.entity_table}.{self.entity_key}"
        )
        if self.entity_filter is not None:
            text += f" WHERE {self.entity_filter}"
        return text


# -- parsing -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = (
        resources.files("campaign_revenue.query")
        .joinpath("grammar.lark")
        .read_text(encoding="utf-8")
    )
    return Lark(grammar, parser="lalr", lexer="contextual")


def _expected_text(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    ordered = sorted(names, key=lambda n: (_TERMINAL_ORDER.get(n, 999), n))
    return tuple(_TERMINAL_TEXT.get(n, n) for n in ordered)


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _syntax_error(text: str, err: UnexpectedInput) -> QueryError:
    """One ``QueryError`` for any of Lark's syntax errors."""
    if isinstance(err, UnexpectedCharacters):
        expected = _expected_text(err.allowed or set())
        token = err.char
        what = f"unexpected character {token!r}"
        line, column = err.line, err.column
    elif isinstance(err, UnexpectedToken) and err.token.type != "$END":
        expected = _expected_text(err.accepts or err.expected)
        token = str(err.token)
        what = f"unexpected token {token!r}"
        line, column = err.line, err.column
    else:
        names = getattr(err, "accepts", None) or getattr(err, "expected", None)
        expected = _expected_text(set(names or ()))
        token = ""
        what = "unexpected end of query"
        line, column = _end_position(text)
    reason = what
    if expected:
        reason += "; expected one of: " + ", ".join(expected)
    return QueryError(
        reason, line=line, column=column, token=token, expected=expected
    )


def parse_query(text: str) -> PredictiveQuery:
    """Parse and validate a predictive query.

    Args:
        text: the PQL text.

    Returns:
        The validated query; ``str()`` of it is the canonical text, which parses
        back to an equal object.

    Raises:
        QueryError: for a syntax error, an unknown table or column, or a query
            that cannot be served (a non-numeric SUM, no foreign key from the
            fact table to the entity, a window that ends before it starts, ...).

    Example:
        >>> query = parse_query(
        ...     "PREDICT COUNT(conversions.* WHERE revenue > 100, 0, 4, weeks) "
        ...     "FOR EACH customers.customer_id"
        ... )
        >>> query.fact_filter.op, query.fact_filter.value
        ('>', 100)
        >>> str(query.fact_filter)
        'conversions.revenue > 100'
    """
    if not isinstance(text, str):
        raise QueryError(f"a query must be text, got {type(text).__name__}")
    try:
        tree = _lark().parse(text)
    except (UnexpectedCharacters, UnexpectedToken, UnexpectedEOF) as err:
        raise _syntax_error(text, err) from None
    except UnexpectedInput as err:  # any other Lark input error
        raise _syntax_error(text, err) from None
    try:
        return _Builder().query(tree)
    except RecursionError:
        raise QueryError("the query nests conditions too deeply") from None


def as_query(query: str | PredictiveQuery) -> PredictiveQuery:
    """``query`` itself, or parsed when given as text."""
    return query if isinstance(query, PredictiveQuery) else parse_query(query)


# -- tree to objects -----------------------------------------------------------


def _error(reason: str, token: Token, expected: tuple[str, ...] = ()) -> QueryError:
    return QueryError(
        reason,
        line=getattr(token, "line", None),
        column=getattr(token, "column", None),
        token=str(token),
        expected=expected,
    )


def _tokens(tree: Tree, *types: str) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token) and c.type in types]


def _subtrees(tree: Tree) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree)]


_INT_TEXT = re.compile(r"[+-]?\d+")


def _number(token: Token) -> int | float:
    text = str(token)
    try:
        if _INT_TEXT.fullmatch(text):
            value: int | float = int(text)
            if abs(value) > _MAX_LONG:
                raise _error(f"number {text} is out of range", token)
            return value
        value = float(text)
    except ValueError:  # e.g. more digits than int() converts
        raise _error(f"number {text[:20]} is out of range", token) from None
    if not math.isfinite(value):
        raise _error(f"number {text} is out of range", token)
    return value


class _Builder:
    """Turns a parse tree into a ``PredictiveQuery``, checking every name."""

    def query(self, tree: Tree) -> PredictiveQuery:
        aggregation = _subtrees(tree)[0]
        entity_table_tok, entity_key_tok = _tokens(tree, "NAME")
        entity_filter_tree = next(
            (t for t in _subtrees(tree) if t.data == "entity_filter"), None
        )

        agg_tok = _subtrees(aggregation)[0].children[0]
        agg = str(agg_tok).upper()
        target = next(
            t for t in _subtrees(aggregation) if t.data.endswith("_target")
        )
        fact_filter_tree = next(
            (t for t in _subtrees(aggregation) if t.data == "fact_filter"), None
        )
        start_tok, end_tok = _tokens(aggregation, "NUMBER")
        unit_tree = next(t for t in _subtrees(aggregation) if t.data == "unit")
        unit_tok = unit_tree.children[0]

        # the fact side: table, column and what the aggregation allows
        fact_table_tok = target.children[0]
        fact = self.table(fact_table_tok)
        fact_column: str | None = None
        if target.data == "star_target":
            if agg != "COUNT":
                raise _error(
                    f"{agg}({fact.name}.*) is not allowed; only COUNT takes "
                    "table.*, the others need a column",
                    target.children[2],
                    ("COUNT",),
                )
        else:
            column_tok = target.children[2]
            fact_column = self.column(fact, fact_table_tok, column_tok)
            self.check_aggregable(agg, fact, fact_column, column_tok)

        start = self.window_bound(start_tok, "start")
        end = self.window_bound(end_tok, "end")
        if start < 0:
            raise _error(
                f"window start must be 0 or later (labels look forward from "
                f"as_of), got {start}",
                start_tok,
            )
        if start >= end:
            raise _error(
                f"window start {start} must be before window end {end}", end_tok
            )
        unit = str(unit_tok).lower()
        unit = unit if unit.endswith("s") else unit + "s"

        # the entity side: a single-column key the fact table points at
        entity = self.table(entity_table_tok)
        entity_key = self.column(entity, entity_table_tok, entity_key_tok)
        if entity.key != (entity_key,):
            if len(entity.key) > 1:
                reason = (
                    f"table {entity.name} has a composite key "
                    f"({', '.join(entity.key)}) and cannot be an entity"
                )
            else:
                reason = (
                    f"{entity.name}.{entity_key} is not the key of {entity.name}; "
                    f"use {entity.name}.{entity.key[0]}"
                )
            raise _error(reason, entity_key_tok, entity.key)
        if not any(
            fk.ref_table == entity.name and fk.ref_column == entity_key
            for fk in fact.foreign_keys
        ):
            pointing = tuple(
                name
                for name, spec in INPUT_TABLES.items()
                if spec.time_column is not None
                and any(
                    fk.ref_table == entity.name and fk.ref_column == entity_key
                    for fk in spec.foreign_keys
                )
            )
            raise _error(
                f"fact table {fact.name} has no foreign key to "
                f"{entity.name}.{entity_key}; tables that have one: "
                f"{', '.join(pointing) or 'none'}",
                fact_table_tok,
                pointing,
            )
        if fact.time_column is None:
            raise _error(
                f"fact table {fact.name} has no time column to place its rows "
                "in a window",
                fact_table_tok,
            )

        fact_filter = (
            self.condition(_subtrees(fact_filter_tree)[0], fact, "fact filter")
            if fact_filter_tree is not None
            else None
        )
        entity_filter = (
            self.condition(_subtrees(entity_filter_tree)[0], entity, "entity filter")
            if entity_filter_tree is not None
            else None
        )
        return PredictiveQuery(
            agg=agg,
            fact_table=fact.name,
            fact_column=fact_column,
            fact_filter=fact_filter,
            start=start,
            end=end,
            unit=unit,
            entity_table=entity.name,
            entity_key=entity_key,
            entity_filter=entity_filter,
        )

    # -- names -----------------------------------------------------------------

    def table(self, token: Token) -> TableSpec:
        name = str(token).lower()
        if name not in INPUT_TABLES:
            valid = tuple(INPUT_TABLES)
            raise _error(
                f"unknown table {token}; valid tables: {', '.join(valid)}",
                token,
                valid,
            )
        return INPUT_TABLES[name]

    def column(self, spec: TableSpec, table_tok: Token, token: Token) -> str:
        name = str(token).lower()
        if name not in spec.column_names:
            valid = tuple(spec.column_names)
            raise _error(
                f"unknown column {table_tok}.{token}; valid columns: "
                f"{', '.join(valid)}",
                token,
                valid,
            )
        return name

    def check_aggregable(
        self, agg: str, spec: TableSpec, column: str, token: Token
    ) -> None:
        dtype = spec.column(column).dtype
        if agg in ("SUM", "AVG") and dtype not in NUMERIC_TYPES:
            allowed = NUMERIC_TYPES
        elif agg in ("MIN", "MAX") and dtype not in NUMERIC_TYPES + TIME_TYPES:
            allowed = NUMERIC_TYPES + TIME_TYPES
        else:
            return
        valid = tuple(
            c.name for c in spec.columns if c.dtype in allowed
        )
        raise _error(
            f"{agg} needs a {' or '.join(allowed)} column, {spec.name}.{column} "
            f"is {dtype}; {spec.name} columns that fit: {', '.join(valid) or 'none'}",
            token,
            valid,
        )

    def window_bound(self, token: Token, which: str) -> int:
        value = _number(token)
        if not isinstance(value, int):
            raise _error(
                f"window {which} must be a whole number of units, got {token}",
                token,
            )
        return value

    # -- conditions ------------------------------------------------------------

    def condition(self, tree: Tree, spec: TableSpec, where: str) -> Condition:
        kind = tree.data
        parts = _subtrees(tree)
        if kind in ("disjunction", "conjunction"):
            node = self.condition(parts[0], spec, where)
            for part in parts[1:]:
                right = self.condition(part, spec, where)
                node = Or(node, right) if kind == "disjunction" else And(node, right)
            return node
        if kind == "negation":
            return Not(self.condition(parts[0], spec, where))
        if kind == "group":
            return self.condition(parts[0], spec, where)

        ref, dtype = self.column_ref(parts[0], spec, where)
        negated = bool(_tokens(tree, "NOT"))
        if kind == "null_check":
            return IsNull(ref, negated)
        values = tuple(self.literal(lit, ref, dtype) for lit in parts[1:])
        if kind == "in_list":
            return InList(ref, values, negated)
        op = str(_tokens(tree, "COMP_OP")[0])
        return Comparison(ref, "!=" if op == "<>" else op, values[0])

    def column_ref(
        self, tree: Tree, spec: TableSpec, where: str
    ) -> tuple[ColumnRef, str]:
        names = _tokens(tree, "NAME")
        if len(names) == 2:
            table_tok, column_tok = names
            other = self.table(table_tok)
            if other.name != spec.name:
                raise _error(
                    f"the {where} may only use columns of {spec.name}, got "
                    f"{table_tok}.{column_tok}",
                    table_tok,
                )
        else:
            table_tok, column_tok = Token("NAME", spec.name), names[0]
        column = self.column(spec, table_tok, column_tok)
        return ColumnRef(spec.name, column), spec.column(column).dtype

    def literal(self, tree: Tree, ref: ColumnRef, dtype: str) -> Literal:
        token = tree.children[-1]
        kind = tree.data
        value: Literal
        if kind == "number":
            value = _number(token)
        elif kind in ("true", "false"):
            value = kind == "true"
        else:
            value = str(token)[1:-1].replace("''", "'")
        if kind == "date" or (kind == "string" and dtype in TIME_TYPES):
            try:
                value = dt.date.fromisoformat(str(value))
            except ValueError:
                raise _error(
                    f"{token} is not a date; write DATE 'yyyy-mm-dd'", token
                ) from None

        fits = {
            "double": kind == "number",
            "long": kind == "number",
            "string": kind == "string",
            "boolean": kind in ("true", "false"),
            "date": isinstance(value, dt.date),
            "timestamp": isinstance(value, dt.date),
        }[dtype]
        if not fits:
            want = {
                "double": "a number",
                "long": "a number",
                "string": "a 'string'",
                "boolean": "TRUE or FALSE",
                "date": "DATE 'yyyy-mm-dd'",
                "timestamp": "DATE 'yyyy-mm-dd'",
            }[dtype]
            raise _error(
                f"column {ref} is {dtype} and compares with {want}, got {token}",
                token,
                (want,),
            )
        return value


# -- description ---------------------------------------------------------------

_AGG_TEXT = {
    "SUM": "sum of",
    "COUNT": "count of",
    "COUNT_DISTINCT": "number of distinct",
    "AVG": "average of",
    "MIN": "minimum of",
    "MAX": "maximum of",
}


def describe_query(query: str | PredictiveQuery) -> str:
    """The query's task in plain lines, for the ``query`` command to print.

    Example:
        >>> print(describe_query(
        ...     "PREDICT SUM(conversions.revenue, 0, 30, days) "
        ...     "FOR EACH campaigns.campaign_id"
        ... ).splitlines()[1])
        task: regression, sum of conversions.revenue per campaigns.campaign_id
    """
    q = as_query(query)
    if q.fact_column is None:
        what = f"rows of {q.fact_table}"
        column = "* (rows)"
    else:
        what = f"{q.fact_table}.{q.fact_column}"
        column = f"{q.fact_column} ({q.fact_spec.column(q.fact_column).dtype})"
    if q.agg in ("SUM", "COUNT", "COUNT_DISTINCT"):
        empty = "0"
    else:
        empty = "null (no label)"
    kind = "count regression" if q.agg.startswith("COUNT") else "regression"
    return "\n".join(
        [
            f"query: {q}",
            f"task: {kind}, {_AGG_TEXT[q.agg]} {what} per "
            f"{q.entity_table}.{q.entity_key}",
            f"fact table: {q.fact_table} (time column {q.time_column})",
            f"fact column: {column}",
            f"fact filter: {q.fact_filter if q.fact_filter is not None else 'none'}",
            f"aggregation: {q.agg}; an empty window gives {empty}",
            f"window: [as_of + {q.start} {q.unit}, as_of + {q.end} {q.unit}), "
            "as_of read as 00:00 UTC",
            f"entity: {q.entity_table}.{q.entity_key} "
            f"(joined on {q.fact_table}.{q.join_column})",
            "entity filter: "
            f"{q.entity_filter if q.entity_filter is not None else 'none'}",
        ]
    )
