"""Ingest: input files or tables to validated ``silver.*`` tables and ``quarantine``.

Every row read is accounted for: rows read = rows accepted + rows quarantined +
exact duplicates removed. A rejected row keeps its original record as JSON and
the first reason that applies (``schema.REJECT_REASONS``), so nothing is dropped
silently. Writes are MERGEs on each table's key, so rerunning the same files
changes nothing, and a later batch that changes a known key's row updates it.

Example:
    >>> summary = ingest(spark, cfg, "data/demo")  # doctest: +SKIP
    >>> print(summary)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from campaign_revenue.config import Config
from campaign_revenue.logs import Progress
from campaign_revenue.schema import INPUT_TABLES, REJECT_REASONS, TableSpec
from campaign_revenue.tables import Lakehouse

log = logging.getLogger(__name__)

FILE_SUFFIXES = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
# Technical columns silver tables carry beside the declared and extra columns.
RECORD_HASH = "_record_hash"
INGEST_RUN = "_ingest_run_id"
INGESTED_AT = "_ingested_at"


# Tables whose keys other tables reference (customers, campaigns).
REFERENCED = frozenset(
    fk.ref_table for spec in INPUT_TABLES.values() for fk in spec.foreign_keys
)
# Referenced key sets up to this many rows are broadcast to the foreign-key
# check, so a large table is not shuffled by each of its foreign keys (a
# million customer ids is about 60 MB on the driver). Above it the check is a
# sort-merge join: a limit of scale that stays correct, only slower.
BROADCAST_KEYS = 2_000_000


@dataclass
class ParentKeys:
    """The accepted keys of a referenced table and how many there are."""

    frame: DataFrame
    rows: int


class IngestError(ValueError):
    """Input that cannot be ingested: a missing table or column, a bad source."""


class IngestQualityError(IngestError):
    """The share of bad rows in a table passed ``quality.max_bad_fraction``."""

    def __init__(self, message: str, stats: list[TableStats]) -> None:
        super().__init__(message)
        self.stats = stats


@dataclass
class TableStats:
    """Row accounting of one input table in one ingest run."""

    table: str
    source: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    exact_duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def bad_fraction(self) -> float:
        return self.quarantined / self.read if self.read else 0.0

    def reconciles(self) -> bool:
        return self.read == self.accepted + self.quarantined + self.exact_duplicates


@dataclass
class IngestSummary:
    """What an ingest run read, accepted and rejected, per table."""

    run_id: str
    clock: dt.datetime
    tables: list[TableStats]
    seconds: float

    def table(self, name: str) -> TableStats:
        return next(t for t in self.tables if t.table == name)

    def __str__(self) -> str:
        header = (
            f"{'table':<20}{'read':>10}{'accepted':>10}{'quarantined':>12}"
            f"{'duplicates':>11}  top reasons"
        )
        lines = [f"ingest run {self.run_id} (clock {self.clock:%Y-%m-%d %H:%M} UTC)"]
        lines += [header, "-" * len(header)]
        for t in self.tables:
            top = ", ".join(
                f"{r}={n}" for r, n in sorted(t.reasons.items(), key=lambda x: -x[1])
            )
            lines.append(
                f"{t.table:<20}{t.read:>10}{t.accepted:>10}{t.quarantined:>12}"
                f"{t.exact_duplicates:>11}  {top or '-'}"
            )
        lines.append(f"seconds={self.seconds:.1f}")
        return "\n".join(lines)


# -- reading ----------------------------------------------------------------------


def _read_path(spark: SparkSession, path: Path, fmt: str) -> DataFrame:
    try:
        return _read_format(spark, path, fmt)
    except AnalysisException as err:
        if "TIMESTAMP(NANOS" in str(err):
            raise IngestError(
                f"{path} stores timestamps in nanoseconds, which Spark cannot read; "
                "write them in microseconds (pandas: to_parquet(..., "
                "coerce_timestamps='us', allow_truncated_timestamps=True))"
            ) from None
        raise


def _read_format(spark: SparkSession, path: Path, fmt: str) -> DataFrame:
    if fmt == "delta":
        return spark.read.format("delta").load(str(path))
    if fmt == "csv":
        return spark.read.option("header", "true").csv(str(path))
    if fmt == "json":
        return spark.read.json(str(path))
    return spark.read.parquet(str(path))


def _folder_format(folder: Path) -> str | None:
    if (folder / "_delta_log").is_dir():
        return "delta"
    for suffix, fmt in FILE_SUFFIXES.items():
        if any(folder.glob(f"*{suffix}")):
            return fmt
    return None


def locate_source(
    spark: SparkSession, source: str, table: str
) -> tuple[DataFrame, str] | None:
    """Find ``table`` under ``source``: a directory of files or a table prefix.

    In a directory, ``<table>/`` (a Delta table or a folder of part files) or
    ``<table>.parquet|.csv|.json|.jsonl``. Otherwise ``source`` is a catalog
    prefix and ``<source>.<table>`` is read.

    Returns:
        The DataFrame and a description of where it came from, or None.
    """
    base = Path(source)
    if base.is_dir():
        # absolute: the JVM resolves a relative path against its own working
        # directory, which need not be this process's
        base = base.resolve()
        folder = base / table
        if folder.is_dir():
            fmt = _folder_format(folder)
            if fmt is None:
                raise IngestError(
                    f"table {table}: folder {folder} holds no Delta log and no "
                    ".parquet/.csv/.json files"
                )
            return _read_path(spark, folder, fmt), f"{folder} ({fmt})"
        for suffix, fmt in FILE_SUFFIXES.items():
            path = base / f"{table}{suffix}"
            if path.exists():
                return _read_path(spark, path, fmt), str(path)
        return None
    name = f"{source}.{table}"
    if spark.catalog.tableExists(name):
        return spark.read.table(name), name
    return None


# -- validation ---------------------------------------------------------------------


def _normalize_columns(df: DataFrame) -> DataFrame:
    renamed = [F.col(f"`{c}`").alias(c.strip().lower()) for c in df.columns]
    return df.select(*renamed)


def check_columns(spec: TableSpec, df: DataFrame, source: str) -> None:
    """Raise IngestError naming each required column the input lacks."""
    missing = [c for c in spec.required_columns if c.name not in df.columns]
    if missing:
        wanted = ", ".join(f"{c.name} ({c.dtype})" for c in missing)
        raise IngestError(
            f"table {spec.name} from {source} is missing required column(s) "
            f"{wanted}; add them or rename the columns that hold them"
        )


def _typed(
    spec: TableSpec, df: DataFrame
) -> tuple[DataFrame, list[Column], set[str]]:
    """Cast declared columns (try_cast) and return per-column parse failures.

    A column whose input type already is the declared one is left as it is;
    for the others the original value is kept as ``_raw_<name>`` so that a
    rejected row's record shows what was read, not the failed cast.

    Returns:
        The frame, one failure condition per cast column, and the names of
        the columns whose original is kept.
    """
    unparseable: list[Column] = []
    kept: set[str] = set()
    for c in spec.columns:
        if c.name not in df.columns:
            df = df.withColumn(c.name, F.lit(None).cast(c.dtype))
            continue
        cast = F.col(c.name).try_cast(c.dtype)
        if df.select(cast).schema[0].dataType == df.schema[c.name].dataType:
            continue  # already the declared type: nothing to parse
        raw = f"_raw_{c.name}"
        # try_cast: a value that does not parse ('2025-02-30', 'abc' as a
        # number) becomes null and is reported, instead of failing the job.
        df = df.withColumn(raw, F.col(c.name)).withColumn(
            c.name, F.col(raw).try_cast(c.dtype)
        )
        unparseable.append(F.col(raw).isNotNull() & F.col(c.name).isNull())
        kept.add(c.name)
    return df, unparseable, kept


def _reason_column(
    spec: TableSpec, unparseable: list[Column], clock: dt.datetime
) -> Column:
    """The first reject reason that applies to a row, or null."""
    checks: dict[str, Column] = {
        "unparseable_value": _any(unparseable),
        "null_key": _any([F.col(k).isNull() for k in spec.key]),
        "null_required": _any(
            [
                F.col(c.name).isNull()
                for c in spec.columns
                if c.required and not c.nullable and c.name not in spec.key
            ]
        ),
        "negative_value": _any([F.col(c) < 0 for c in spec.non_negative]),
        "future_timestamp": _any(
            [
                F.col(c) > F.lit(clock)
                if spec.column(c).dtype == "timestamp"
                else F.col(c) > F.lit(clock.date())
                for c in spec.not_after_clock
            ]
        ),
    }
    expr = F.lit(None).cast("string")
    for reason in reversed([r for r in REJECT_REASONS if r in checks]):
        expr = F.when(checks[reason], F.lit(reason)).otherwise(expr)
    return expr


def _any(conds: list[Column]) -> Column:
    if not conds:
        return F.lit(False)
    out = F.coalesce(conds[0], F.lit(False))
    for c in conds[1:]:
        out = out | F.coalesce(c, F.lit(False))
    return out


def validate_table(
    spec: TableSpec,
    raw: DataFrame,
    clock: dt.datetime,
    parents: dict[str, DataFrame],
) -> DataFrame:
    """Type, check and label every distinct row of one input table.

    Args:
        spec: the table's declaration.
        raw: the rows as read, columns lower-cased, exact duplicates removed.
        clock: the run's clock; event times after it are rejected.
        parents: accepted keys of referenced tables (one column each, named
            as the referenced key), with their row counts.

    Returns:
        The typed rows with ``_record_hash``, ``_reason`` (null when
        accepted) and ``_record`` (the original row as JSON, for rejected
        rows only).
    """
    original = [c for c in raw.columns if not c.startswith("_")]
    df, unparseable, kept = _typed(spec, raw)
    # The record as read, as JSON. Only its hash is kept for every row (the
    # silver change detector); the JSON itself only for rejected rows, so the
    # accepted rows do not carry a copy of themselves through every stage.
    record = F.to_json(
        F.struct(
            *[F.col(f"_raw_{c}").alias(c) if c in kept else F.col(c) for c in original]
        )
    )
    df = df.withColumn(RECORD_HASH, F.sha2(record, 256))
    df = df.withColumn("_reason", _reason_column(spec, unparseable, clock))

    for fk in spec.foreign_keys:
        if fk.ref_table not in parents:
            continue
        flag = f"_fk_{fk.column}"
        parent = parents[fk.ref_table]
        keys = parent.frame.select(
            F.col(fk.ref_column).alias(fk.column), F.lit(True).alias(flag)
        )
        if parent.rows <= BROADCAST_KEYS:
            # no shuffle of this table's rows: they stay partitioned by key
            keys = F.broadcast(keys)
        df = df.join(keys, on=fk.column, how="left").withColumn(
            "_reason",
            F.when(
                F.col("_reason").isNull()
                & F.col(fk.column).isNotNull()
                & F.col(flag).isNull(),
                F.lit("unknown_foreign_key"),
            ).otherwise(F.col("_reason")),
        )

    # Rows that passed so far but share a key with a different row: all bad,
    # since the batch does not say which version is right. Two versions means
    # the smallest and largest hash of the key's passing rows differ; over a
    # window on the key, which the caller's partitioning by key serves.
    ok = F.col("_reason").isNull()
    by_key = Window.partitionBy(*spec.key)
    passing = F.when(ok, F.col(RECORD_HASH))
    conflict = F.min(passing).over(by_key) != F.max(passing).over(by_key)
    df = df.withColumn(
        "_reason",
        F.when(ok & conflict, F.lit("conflicting_duplicate_key")).otherwise(
            F.col("_reason")
        ),
    ).withColumn("_record", F.when(F.col("_reason").isNotNull(), record))
    helper = [c for c in df.columns if c.startswith("_raw_") or c.startswith("_fk_")]
    return df.drop(*helper)


def _quarantine_rows(
    df: DataFrame, table: str, source: str, run_id: str, now: dt.datetime
) -> DataFrame:
    return df.where(F.col("_reason").isNotNull()).select(
        F.lit(table).alias("table_name"),
        F.col(RECORD_HASH).alias("record_hash"),
        F.col("_reason").alias("reason"),
        F.lit(None).cast("string").alias("detail"),
        F.col("_record").alias("record"),
        F.lit(source).alias("source"),
        F.lit(run_id).alias("run_id"),
        F.lit(now).alias("quarantined_at"),
    )


def _silver_rows(
    spec: TableSpec, df: DataFrame, run_id: str, now: dt.datetime
) -> DataFrame:
    declared = spec.column_names
    extra = [
        c
        for c in df.columns
        if c not in declared and not c.startswith("_")
    ]
    return df.where(F.col("_reason").isNull()).select(
        *declared,
        *extra,
        F.col(RECORD_HASH),
        F.lit(run_id).alias(INGEST_RUN),
        F.lit(now).alias(INGESTED_AT),
    )


def _parent_keys(spec: TableSpec, validated: DataFrame, lh: Lakehouse) -> ParentKeys:
    """The keys a child's foreign key may name: accepted now or already in silver.

    Materialized once (one key column, small) and counted, since every child
    table's check reads them and the count decides whether they are broadcast.
    """
    keys = validated.where(F.col("_reason").isNull()).select(*spec.key)
    if len(spec.key) == 1 and lh.exists(f"silver.{spec.name}"):
        keys = keys.unionByName(lh.read(f"silver.{spec.name}").select(*spec.key))
    keys = keys.distinct().localCheckpoint()
    return ParentKeys(keys, keys.count())


# -- the step -----------------------------------------------------------------------


def ingest(
    spark: SparkSession,
    cfg: Config,
    source: str,
    clock: dt.datetime | None = None,
    tables: list[str] | None = None,
) -> IngestSummary:
    """Validate every input-contract table under ``source`` and write silver.

    Args:
        spark: the session.
        cfg: run configuration (lakehouse, quality threshold).
        source: a directory of files or Delta folders, or a catalog prefix.
        clock: the run's clock (UTC); event times after it are rejected.
            Defaults to now.
        tables: restrict to these input tables (default: all).

    Returns:
        The per-table row accounting.

    Raises:
        IngestError: a required table or column is missing.
        IngestQualityError: a table's bad-row share passed the threshold; the
            quarantine is written first so the rows can be inspected.
    """
    started = time.perf_counter()
    clock = (clock or dt.datetime.now(dt.timezone.utc)).replace(tzinfo=None)
    run_id = uuid.uuid4().hex[:12]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    lh = Lakehouse(spark, cfg.lakehouse)
    names = tables or list(INPUT_TABLES)

    located: dict[str, tuple[DataFrame, str]] = {}
    for name in names:
        spec = INPUT_TABLES[name]
        found = locate_source(spark, source, name)
        if found is None:
            if spec.optional:
                log.info("ingest table=%s skipped=absent_optional", name)
                continue
            raise IngestError(
                f"required table {name} not found under {source}; expected "
                f"{name}/ (Delta or part files) or {name}.parquet|.csv|.json"
            )
        df, where = found
        df = _normalize_columns(df)
        check_columns(spec, df, where)
        located[name] = (df, where)

    validated: dict[str, DataFrame] = {}
    parents: dict[str, ParentKeys] = {}
    stats: list[TableStats] = []
    # Each table is validated, then merged into silver: two counted stages.
    bar = Progress("ingest", total=2 * len(located), logger=log)
    for name, (raw, where) in located.items():
        t0 = time.perf_counter()
        spec = INPUT_TABLES[name]
        st = TableStats(table=name, source=where)
        # Exact copies collapse to one row that remembers how many it stood
        # for, so one pass counts rows read, duplicates and reasons. The rows
        # are shuffled once, by key: the duplicate count and the conflicting-
        # key window both run on that partitioning.
        distinct = (
            raw.repartition(*[F.col(f"`{k}`") for k in spec.key])
            .groupBy(*[F.col(f"`{c}`") for c in raw.columns])
            .agg(F.count(F.lit(1)).alias("_copies"))
        )
        df = validate_table(spec, distinct, clock, parents).persist(
            StorageLevel.MEMORY_AND_DISK
        )
        rows = (
            df.groupBy("_reason")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("_copies").alias("copies"))
            .collect()  # one row per reason
        )
        counts = {r["_reason"]: int(r["n"]) for r in rows}
        st.read = sum(int(r["copies"]) for r in rows)
        st.accepted = counts.pop(None, 0)
        st.reasons = counts
        st.quarantined = sum(counts.values())
        st.exact_duplicates = st.read - st.accepted - st.quarantined
        st.seconds = time.perf_counter() - t0
        assert st.exact_duplicates >= 0, st
        stats.append(st)
        validated[name] = df
        if name in REFERENCED:
            parents[name] = _parent_keys(spec, df, lh)
        bar.advance(
            f"validated table={name} read={st.read} accepted={st.accepted} "
            f"quarantined={st.quarantined} duplicates={st.exact_duplicates} "
            f"seconds={st.seconds:.1f}"
        )

    quarantine = [
        _quarantine_rows(validated[s.table], s.table, s.source, run_id, now)
        for s in stats
        if s.quarantined
    ]
    if quarantine:
        rows = quarantine[0]
        for extra in quarantine[1:]:
            rows = rows.unionByName(extra)
        lh.merge(
            rows,
            "quarantine",
            key=["table_name", "record_hash", "reason"],
            insert_only=True,
        )

    too_bad = [s for s in stats if s.bad_fraction > cfg.quality.max_bad_fraction]
    if too_bad:
        for df in validated.values():
            df.unpersist()
        raise IngestQualityError(_quality_message(too_bad, cfg, lh), too_bad)

    for st in stats:
        spec = INPUT_TABLES[st.table]
        merged = lh.merge(
            _silver_rows(spec, validated[st.table], run_id, now),
            f"silver.{st.table}",
            key=list(spec.key),
            update_when=f"t.{RECORD_HASH} <> s.{RECORD_HASH}",
        )
        validated[st.table].unpersist()
        bar.advance(
            f"wrote silver.{st.table} inserted={merged.inserted} "
            f"updated={merged.updated} seconds={merged.seconds:.1f}"
        )

    summary = IngestSummary(
        run_id=run_id,
        clock=clock,
        tables=stats,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "ingest tables=%d read=%d accepted=%d quarantined=%d seconds=%.1f",
        len(stats),
        sum(s.read for s in stats),
        sum(s.accepted for s in stats),
        sum(s.quarantined for s in stats),
        summary.seconds,
    )
    return summary


def _quality_message(bad: list[TableStats], cfg: Config, lh: Lakehouse) -> str:
    parts = []
    for s in bad:
        top = ", ".join(
            f"{r}={n}" for r, n in sorted(s.reasons.items(), key=lambda x: -x[1])[:3]
        )
        parts.append(
            f"table {s.table}: {s.quarantined} of {s.read} rows bad "
            f"({s.bad_fraction:.1%} > {cfg.quality.max_bad_fraction:.1%}); "
            f"top reasons: {top}"
        )
    return (
        "; ".join(parts)
        + f". Nothing was written to silver. Inspect the rows with "
        f"`campaign-revenue quarantine --table {bad[0].table}` (Delta table at "
        f"{lh.location('quarantine')}), fix the source, or raise "
        "quality.max_bad_fraction"
    )
