"""Bad-row injection: corrupted copies of real rows, added to the leaf tables."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from campaign_revenue.schema import input_table

# Reason codes shared with ingest.
NULL_KEY = "null_key"
CONFLICTING_DUPLICATE_KEY = "conflicting_duplicate_key"
UNKNOWN_FOREIGN_KEY = "unknown_foreign_key"
NEGATIVE_VALUE = "negative_value"
UNPARSEABLE_VALUE = "unparseable_value"
FUTURE_TIMESTAMP = "future_timestamp"
EXACT_DUPLICATE = "exact_duplicate"

LEAF_TABLES = ("touchpoints", "conversions", "spend_daily", "campaign_audiences")
_ID_PREFIX = {"touchpoints": "tp_x", "conversions": "cv_x"}
# Column each table's conflicting duplicate changes, and how.
_NUMERIC = {"conversions": "revenue", "spend_daily": "spend"}


def time_column(table: str) -> str:
    """The table's declared time column."""
    column = input_table(table).time_column
    assert column is not None, table
    return column


def as_text(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The table with its time column as ISO-8601 text, as many exports write it."""
    column = time_column(table)
    out = frame.copy()
    if input_table(table).column(column).dtype == "timestamp":
        out[column] = pd.to_datetime(out[column], utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    else:
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    return out


def reasons_for(table: str) -> list[str]:
    """The reasons that can be injected into ``table``."""
    reasons = [NULL_KEY, CONFLICTING_DUPLICATE_KEY, UNKNOWN_FOREIGN_KEY]
    if table in _NUMERIC:
        reasons.append(NEGATIVE_VALUE)
    return reasons + [UNPARSEABLE_VALUE, FUTURE_TIMESTAMP, EXACT_DUPLICATE]


def inject(
    frame: pd.DataFrame,
    table: str,
    share: float,
    rng: np.random.Generator,
    tag: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add corrupted copies of real rows to a leaf table.

    The clean rows are kept as they are; each added row has a fresh key (except
    exact duplicates, which copy a real row whole), so truth is unchanged. The
    time column must already be text (see :func:`as_text`).

    Args:
        frame: clean rows of ``table``.
        table: a leaf table name (``LEAF_TABLES``).
        share: bad rows as a share of the table's rows.
        rng: generator of the corruptions.
        tag: distinguishes fresh ids of several parts of one table.

    Returns:
        The table with the added rows, and the truth rows: table_name, reason, key.

    Raises:
        ValueError: if ``table`` is not a leaf table.
    """
    if table not in LEAF_TABLES:
        raise ValueError(
            f"bad rows go only to leaf tables ({', '.join(LEAF_TABLES)}), "
            f"not {table!r}"
        )
    if frame.empty:
        return frame, pd.DataFrame(columns=["table_name", "reason", "key"])
    spec = input_table(table)
    key = list(spec.key)
    tcol = time_column(table)
    reasons = reasons_for(table)
    per_reason = max(1, math.ceil(share * len(frame) / len(reasons)))
    fresh = _FreshKeys(frame, table, rng, tag)
    added: list[pd.DataFrame] = []
    for reason in reasons:
        count = per_reason
        if reason == CONFLICTING_DUPLICATE_KEY:
            count = 2 * math.ceil(per_reason / 2)
        rows = frame.iloc[rng.integers(0, len(frame), size=count)].copy()
        if reason == EXACT_DUPLICATE:
            added.append(rows.assign(_reason=reason))
            continue
        rows = fresh.assign(rows, count)
        if reason == NULL_KEY:
            rows[key[0]] = None
        elif reason == CONFLICTING_DUPLICATE_KEY:
            half = count // 2
            for k in key:
                column = rows.columns.get_loc(k)
                rows.iloc[half:, column] = rows[k].iloc[:half].to_numpy()
            _change_value(rows, table, half)
        elif reason == UNKNOWN_FOREIGN_KEY:
            rows["campaign_id"] = [f"cmp_{90000 + k}" for k in fresh.take(count)]
        elif reason == NEGATIVE_VALUE:
            column = _NUMERIC[table]
            rows[column] = -rows[column].abs() - 1.0
        elif reason == UNPARSEABLE_VALUE:
            is_ts = len(rows[tcol].iloc[0]) > 10
            rows[tcol] = "2025-13-45T25:61:00Z" if is_ts else "2025-13-45"
        elif reason == FUTURE_TIMESTAMP:
            future = "2099" + rows[tcol].str.slice(4)
            rows[tcol] = future.str.replace("2099-02-29", "2099-02-28")
        added.append(rows.assign(_reason=reason))

    bad = pd.concat(added, ignore_index=True)
    truth = pd.DataFrame({
        "table_name": table,
        "reason": bad.pop("_reason").to_numpy(),
        "key": _join_key(bad, key),
    })
    return pd.concat([frame, bad], ignore_index=True), truth


def _join_key(frame: pd.DataFrame, key: list[str]) -> list[str | None]:
    parts = [frame[k] for k in key]
    out: list[str | None] = []
    for values in zip(*parts):
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
            out.append(None)
        else:
            out.append("|".join(_text(v) for v in values))
    return out


def _text(value: object) -> str:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def _change_value(rows: pd.DataFrame, table: str, half: int) -> None:
    """Make the second row of each conflicting pair differ from the first."""
    pos = np.arange(half, len(rows))
    if table in _NUMERIC:
        column = rows.columns.get_loc(_NUMERIC[table])
        rows.iloc[pos, column] = rows.iloc[pos, column].to_numpy() + 7.5
    elif table == "touchpoints":
        column = rows.columns.get_loc("event_type")
        values = rows.iloc[pos, column].to_numpy()
        rows.iloc[pos, column] = np.where(values == "click", "impression", "click")
    else:
        column = rows.columns.get_loc("is_holdout")
        rows.iloc[pos, column] = ~rows.iloc[pos, column].to_numpy().astype(bool)


class _FreshKeys:
    """Keys that no clean row has."""

    def __init__(
        self, frame: pd.DataFrame, table: str, rng: np.random.Generator, tag: int
    ) -> None:
        self.frame, self.table, self.rng, self.tag = frame, table, rng, tag
        self.counter = 0

    def take(self, count: int) -> np.ndarray:
        out = np.arange(self.counter, self.counter + count)
        self.counter += count
        return out

    def assign(self, rows: pd.DataFrame, count: int) -> pd.DataFrame:
        k = self.take(count)
        if self.table in _ID_PREFIX:
            column = input_table(self.table).key[0]
            prefix = f"{_ID_PREFIX[self.table]}{self.tag:03d}"
            rows[column] = [f"{prefix}{v:07d}" for v in k]
        elif self.table == "spend_daily":
            # a day before the data: no clean row has it
            first = pd.to_datetime(self.frame["date"]).min()
            days = pd.to_timedelta(k + 1, unit="D")
            rows["date"] = (first - days).strftime("%Y-%m-%d")
        else:
            # a customer the campaign did not target
            taken = set(zip(self.frame["campaign_id"], self.frame["customer_id"]))
            customers = self.frame["customer_id"].unique()
            picked = []
            for cid in rows["campaign_id"]:
                while True:
                    cus = customers[self.rng.integers(len(customers))]
                    if (cid, cus) not in taken:
                        break
                taken.add((cid, cus))
                picked.append(cus)
            rows["customer_id"] = picked
        return rows
