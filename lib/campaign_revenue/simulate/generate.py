"""Generate a simulated dataset in the input contract, with its ground truth."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from campaign_revenue.schema import INPUT_TABLES
from campaign_revenue.simulate import badrows
from campaign_revenue.simulate.engine import Curves, Events
from campaign_revenue.simulate.future import (
    FutureWorld,
    load_chunk,
    save_chunk,
    simulate_future,
    simulate_range,
)
from campaign_revenue.simulate.presets import Preset, get_preset
from campaign_revenue.simulate.world import (
    CampaignPlan,
    build_campaigns,
    build_chunk,
    plan_table,
    season_curve,
    spend_table,
)

log = logging.getLogger(__name__)

_ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "long": pa.int64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}
_EXTRA_TYPES = {"daily_budget_cap": pa.float64(), "email_opt_in": pa.bool_()}
_CURVE_MAX = 3.0
# Day of week of the truth's as-of grid (Monday).
AS_OF_WEEKDAY = 0


@dataclass
class GenerateSummary:
    """What ``generate`` wrote.

    Attributes:
        out: output folder.
        preset: preset name.
        seed: world seed.
        rows: rows per input table (bad rows included).
        truth_rows: rows per truth table.
        seconds: wall time of the generation.
        data_start: first day of input data.
        data_end: last day of input data.
        as_of_first: first as-of date of ``truth/campaign_windows``.
        as_of_last: last as-of date (the day after the data end).
        bad_rows: bad rows added across tables.
    """

    out: Path
    preset: str
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    truth_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    data_start: dt.date | None = None
    data_end: dt.date | None = None
    as_of_first: dt.date | None = None
    as_of_last: dt.date | None = None
    bad_rows: int = 0

    def __str__(self) -> str:
        lines = [
            f"generated preset={self.preset} seed={self.seed} into {self.out} "
            f"in {self.seconds:.1f}s",
            f"data {self.data_start} .. {self.data_end}; truth as_of "
            f"{self.as_of_first} .. {self.as_of_last}; bad rows {self.bad_rows}",
        ]
        width = max(len(t) for t in [*self.rows, *self.truth_rows])
        for name, count in self.rows.items():
            lines.append(f"  {name:<{width}} {count:>12,}")
        for name, count in self.truth_rows.items():
            lines.append(f"  {'truth/' + name:<{width + 6}} {count:>6,}")
        return "\n".join(lines)


class _Writer:
    """Writes each table as one Parquet file, or as part files in a folder."""

    def __init__(self, out: Path, parts: bool, text_time: bool) -> None:
        self.out, self.parts, self.text_time = out, parts, text_time
        self.pending: dict[str, list[pd.DataFrame]] = {}
        self.rows: dict[str, int] = {}
        self.counter: dict[str, int] = {}

    def write(self, table: str, frame: pd.DataFrame) -> None:
        self.rows[table] = self.rows.get(table, 0) + len(frame)
        if not self.parts:
            self.pending.setdefault(table, []).append(frame)
            return
        part = self.counter.get(table, 0)
        self.counter[table] = part + 1
        folder = self.out / table
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(self._arrow(table, frame), folder / f"part-{part:05d}.parquet")

    def close(self) -> None:
        for table, frames in self.pending.items():
            frame = pd.concat(frames, ignore_index=True)
            pq.write_table(self._arrow(table, frame), self.out / f"{table}.parquet")
        self.pending.clear()

    def _arrow(self, table: str, frame: pd.DataFrame) -> pa.Table:
        spec = INPUT_TABLES[table]
        text = self.text_time and table in badrows.LEAF_TABLES
        fields = []
        for column in frame.columns:
            if column in spec.column_names:
                dtype = _ARROW_TYPES[spec.column(column).dtype]
                if text and column == spec.time_column:
                    dtype = pa.string()
            else:
                dtype = _EXTRA_TYPES.get(column, pa.string())
            fields.append(pa.field(column, dtype))
        schema = pa.schema(fields)
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def generate(
    out: str | Path,
    preset: str = "demo",
    seed: int = 0,
    bad_rows: float = 0.0,
    **overrides: object,
) -> GenerateSummary:
    """Simulate a world and write its input tables and ground truth to ``out``.

    Args:
        out: output folder (replaced if it holds an earlier generation).
        preset: ``tiny``, ``demo``, ``demo_alt`` or ``large``.
        seed: world seed; the same seed writes identical files.
        bad_rows: share of each leaf table's rows added as bad rows.
        **overrides: preset fields to replace.

    Returns:
        The summary of what was written.

    Raises:
        ValueError: for an unknown preset or field, or a bad-row share outside
            [0, 0.5].

    Example:
        >>> summary = generate("/tmp/cr", preset="tiny", seed=1)  # doctest: +SKIP
        >>> print(summary)  # doctest: +SKIP
    """
    started = time.perf_counter()
    params = get_preset(preset, **overrides)
    if not 0.0 <= bad_rows <= 0.5:
        raise ValueError(f"bad_rows must be within [0, 0.5], got {bad_rows}")
    out = Path(out)
    for name in [*INPUT_TABLES, "truth"]:
        for path in (out / name, out / f"{name}.parquet"):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (out / "truth").mkdir(parents=True, exist_ok=True)

    plan = build_campaigns(params, seed)
    n_days, window = params.n_days, params.window_days
    season = season_curve(params, n_days + window)
    chunks = _chunk_bounds(params)
    world = FutureWorld(
        campaign_ids=plan.ids,
        mechanics=plan.mechanics,
        plan=plan.plan,
        season=season,
        n_days=n_days,
        seed=seed,
        sigma_value=params.order_value_sigma,
        click_window_days=params.click_window_days,
        view_window_days=params.view_window_days,
        n_chunks=len(chunks),
    )
    world.save(out)
    writer = _Writer(out, parts=len(chunks) > 1, text_time=bad_rows > 0)
    bad_rng = np.random.default_rng([seed, 99])
    bad_truth: list[pd.DataFrame] = []

    def write_leaf(table: str, frame: pd.DataFrame, tag: int) -> None:
        if bad_rows > 0:
            frame = badrows.as_text(frame, table)
            frame, truth = badrows.inject(frame, table, bad_rows, bad_rng, tag)
            bad_truth.append(truth)
        writer.write(table, frame)

    writer.write("campaigns", plan.table)
    write_leaf("spend_daily", spend_table(params, plan, seed), 0)
    writer.write("spend_plan", plan_table(params, plan))

    n_campaigns = len(plan.ids)
    attributed_daily = np.zeros((n_campaigns, n_days + window))
    incremental_daily = np.zeros((n_campaigns, n_days + window))
    curve_campaigns = np.flatnonzero(plan.plan.sum(axis=1) > 0)
    curves = Curves(curve_campaigns, np.linspace(0.0, _CURVE_MAX, params.curve_points))
    causes: list[pd.DataFrame] = []
    futures: list[pd.DataFrame] = []
    ids = {"tp": 0, "cv": 0, "cvf": 0}

    progress = tqdm(chunks, desc="generate", unit="chunk", disable=len(chunks) == 1)
    for index, (first, size) in enumerate(progress):
        t0 = time.perf_counter()
        chunk, customers, audiences = build_chunk(
            params, plan, seed, index, first, size
        )
        writer.write("customers", customers)
        write_leaf("campaign_audiences", audiences, index)

        history = simulate_range(world, chunk, plan.spend, 0)
        save_chunk(out, chunk)
        future = simulate_future(world, load_chunk(out, index), plan.plan, curves)
        _add_daily(attributed_daily, incremental_daily, history)
        _add_daily(attributed_daily, incremental_daily, future)

        customer_ids = customers["customer_id"].to_numpy()
        touchpoints = _touchpoints(history, customer_ids, plan, params, ids)
        write_leaf("touchpoints", touchpoints, index)
        conversions, cause = _conversions(
            history, customer_ids, plan, params, ids, "cv"
        )
        write_leaf("conversions", conversions, index)
        causes.append(cause)
        future_rows, future_cause = _conversions(
            future, customer_ids, plan, params, ids, "cvf"
        )
        futures.append(future_rows.assign(cause=future_cause["cause"].to_numpy()))
        log.info(
            "chunk index=%d customers=%d touchpoints=%d conversions=%d seconds=%.2f",
            index, size, len(touchpoints), len(conversions), time.perf_counter() - t0,
        )
    writer.close()

    truth = {
        "conversion_causes": pd.concat(causes, ignore_index=True),
        "future_conversions": pd.concat(futures, ignore_index=True),
        "campaign_windows": _campaign_windows(
            params, plan, attributed_daily, incremental_daily
        ),
        "response_curves": _response_curves(plan, curves),
    }
    if bad_rows > 0:
        truth["bad_rows"] = pd.concat(bad_truth, ignore_index=True)
    for name, frame in truth.items():
        frame.to_parquet(out / "truth" / f"{name}.parquet", index=False)
    meta = {"preset": params.to_json(), "seed": seed, "bad_rows": bad_rows}
    (out / "truth" / "params.json").write_text(json.dumps(meta, indent=2))

    windows = truth["campaign_windows"]["as_of_date"]
    summary = GenerateSummary(
        out=out,
        preset=params.name,
        seed=seed,
        rows=dict(writer.rows),
        truth_rows={k: len(v) for k, v in truth.items()},
        seconds=time.perf_counter() - started,
        data_start=params.data_start,
        data_end=params.data_end,
        as_of_first=windows.min(),
        as_of_last=windows.max(),
        bad_rows=len(truth.get("bad_rows", ())),
    )
    log.info(
        "generate preset=%s seed=%d touchpoints=%d conversions=%d seconds=%.2f",
        params.name, seed, summary.rows.get("touchpoints", 0),
        summary.rows.get("conversions", 0), summary.seconds,
    )
    return summary


def _chunk_bounds(params: Preset) -> list[tuple[int, int]]:
    size = max(1, params.chunk_customers)
    return [
        (first, min(size, params.n_customers - first))
        for first in range(0, params.n_customers, size)
    ]


def _add_daily(
    attributed: np.ndarray, incremental: np.ndarray, events: Events
) -> None:
    """Add revenue per campaign and day (credited and caused) of ``events``."""
    day = events.cv_ts // 86_400
    n_cols = attributed.shape[1]
    for target, campaign in ((attributed, events.cv_attributed),
                             (incremental, events.cv_cause)):
        sel = campaign >= 0
        slot = campaign[sel].astype(np.int64) * n_cols + day[sel]
        target += np.bincount(
            slot, weights=events.cv_revenue[sel], minlength=target.size
        ).reshape(target.shape)


def _timestamps(params: Preset, seconds: np.ndarray) -> pd.Series:
    base = np.datetime64(params.data_start, "s")
    values = (base + seconds.astype("timedelta64[s]")).astype("datetime64[us]")
    return pd.Series(values).dt.tz_localize("UTC")


def _ids(prefix: str, start: int, count: int, width: int) -> pd.Series:
    numbers = pd.Series(np.arange(start, start + count)).astype(str).str.zfill(width)
    return prefix + numbers


def _touchpoints(
    events: Events,
    customer_ids: np.ndarray,
    plan: CampaignPlan,
    params: Preset,
    ids: dict[str, int],
) -> pd.DataFrame:
    n = len(events.tp_ts)
    is_email = plan.table["channel"].to_numpy()[events.tp_campaign] == "email"
    view = np.where(is_email, "open", "impression")
    frame = pd.DataFrame({
        "touchpoint_id": _ids("tp_", ids["tp"], n, 10),
        "customer_id": customer_ids[events.tp_customer],
        "campaign_id": plan.ids[events.tp_campaign],
        "event_type": np.where(events.tp_kind == 1, "click", view),
        "ts": _timestamps(params, events.tp_ts),
    })
    ids["tp"] += n
    return frame


def _conversions(
    events: Events,
    customer_ids: np.ndarray,
    plan: CampaignPlan,
    params: Preset,
    ids: dict[str, int],
    kind: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(events.cv_ts)
    order = np.argsort(events.cv_ts, kind="stable")
    prefix = "cv_" if kind == "cv" else "cv_f"
    conversion_id = _ids(prefix, ids[kind], n, 9)
    ids[kind] += n
    campaign_ids = np.append(plan.ids, None)
    attributed = campaign_ids[events.cv_attributed[order]]
    frame = pd.DataFrame({
        "conversion_id": conversion_id,
        "customer_id": customer_ids[events.cv_customer[order]],
        "campaign_id": attributed,
        "revenue": events.cv_revenue[order],
        "ts": _timestamps(params, events.cv_ts[order]),
    })
    cause_ids = np.append(plan.ids, "organic")
    cause = pd.DataFrame({
        "conversion_id": conversion_id,
        "cause": cause_ids[events.cv_cause[order]],
        "attributed_campaign_id": attributed,
    })
    return frame, cause


def _as_of_days(params: Preset) -> np.ndarray:
    """As-of day indexes: each Monday in the data, and the day after its end."""
    n_days = params.n_days
    first_weekday = params.data_start.weekday()
    first = (AS_OF_WEEKDAY - first_weekday) % 7
    days = np.arange(first, n_days + 1, 7)
    return np.unique(np.append(days, n_days))


def _campaign_windows(
    params: Preset,
    plan: CampaignPlan,
    attributed: np.ndarray,
    incremental: np.ndarray,
) -> pd.DataFrame:
    """Credited and caused revenue of [as_of, as_of + window) per campaign."""
    window = params.window_days
    days = _as_of_days(params)
    cum_a = np.concatenate([np.zeros((len(plan.ids), 1)), attributed.cumsum(1)], 1)
    cum_i = np.concatenate([np.zeros((len(plan.ids), 1)), incremental.cumsum(1)], 1)
    c, k = np.meshgrid(np.arange(len(plan.ids)), np.arange(len(days)), indexing="ij")
    c, day = c.ravel(), days[k.ravel()]
    launched = plan.mechanics.start_day[c] < day + window
    c, day = c[launched], day[launched]
    base = np.datetime64(params.data_start, "D")
    return pd.DataFrame({
        "campaign_id": plan.ids[c],
        "as_of_date": pd.Series(base + day.astype("timedelta64[D]")).dt.date,
        "attributed_revenue": np.round(cum_a[c, day + window] - cum_a[c, day], 2),
        "incremental_revenue": np.round(cum_i[c, day + window] - cum_i[c, day], 2),
    })


def _response_curves(plan: CampaignPlan, curves: Curves) -> pd.DataFrame:
    planned = plan.plan.sum(axis=1)[curves.campaigns]
    points = len(curves.multipliers)
    return pd.DataFrame({
        "campaign_id": np.repeat(plan.ids[curves.campaigns], points),
        "spend_multiplier": np.tile(curves.multipliers, len(curves.campaigns)),
        "spend": np.round(np.outer(planned, curves.multipliers).ravel(), 2),
        "expected_incremental_revenue": curves.revenue.ravel(),
    })
