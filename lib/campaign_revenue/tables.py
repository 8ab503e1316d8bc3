"""Table I/O in one place: logical names to Delta locations, reads, MERGE writes.

A logical name is ``layer.table`` (``silver.campaigns``, ``gold.campaign_predictions``)
or ``quarantine``. Locally it maps to a Delta folder under the lakehouse root; with
a catalog configured it maps to ``catalog.schema.table``.

Example:
    >>> lh = Lakehouse(spark, cfg.lakehouse)  # doctest: +SKIP
    >>> lh.merge(df, "silver.campaigns", key=["campaign_id"])  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from campaign_revenue.config import LakehouseConfig
from campaign_revenue.schema import GOLD_TABLES, TableSpec

log = logging.getLogger(__name__)

LAYERS = ("silver", "graph", "features", "gold")


@dataclass(frozen=True)
class WriteResult:
    """What one write did, read from the Delta commit's metrics."""

    table: str
    version: int
    inserted: int
    updated: int
    deleted: int
    seconds: float


# Every write of this process, in order: how a step's closing line counts the
# rows it wrote without each step keeping its own tally.
_WRITES: list[WriteResult] = []


def writes_since(mark: int = 0) -> list[WriteResult]:
    """The writes made after ``mark`` (a value of :func:`write_count`)."""
    return list(_WRITES[mark:])


def write_count() -> int:
    """How many writes this process has made so far."""
    return len(_WRITES)


class Lakehouse:
    """Reads and writes the project's tables by logical name."""

    def __init__(self, spark: SparkSession, cfg: LakehouseConfig) -> None:
        self.spark = spark
        self.cfg = cfg

    # -- naming -----------------------------------------------------------------

    def _check_name(self, name: str) -> tuple[str, str]:
        if name == "quarantine":
            return "quarantine", "quarantine"
        layer, _, table = name.partition(".")
        if layer not in LAYERS or not table or "." in table:
            raise ValueError(
                f"table name {name!r} must be 'quarantine' or layer.table with "
                f"layer one of {', '.join(LAYERS)}"
            )
        return layer, table

    def is_catalog(self, name: str) -> bool:
        return self.cfg.catalog is not None or (
            name in self.cfg.tables and "/" not in self.cfg.tables[name]
        )

    def location(self, name: str) -> str:
        """The Delta path (local) or ``catalog.schema.table`` of ``name``."""
        layer, table = self._check_name(name)
        if name in self.cfg.tables:
            return self.cfg.tables[name]
        if self.cfg.catalog is not None:
            schema = self.cfg.schemas.get(layer, layer)
            return f"{self.cfg.catalog}.{schema}.{table}"
        root = self.cfg.root.rstrip("/")
        if ":" not in root:
            # a local folder: absolute, since Delta's table builder reads a
            # relative location as a table name and refuses it
            root = str(Path(root).expanduser().resolve())
        if layer == "quarantine":
            return f"{root}/quarantine"
        return f"{root}/{layer}/{table}"

    # -- reads ------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        from delta.tables import DeltaTable

        where = self.location(name)
        if self.is_catalog(name):
            return self.spark.catalog.tableExists(where)
        return DeltaTable.isDeltaTable(self.spark, where)

    def read(self, name: str, version: int | None = None) -> DataFrame:
        """Read ``name``; raises FileNotFoundError naming the step that writes it."""
        if not self.exists(name):
            raise FileNotFoundError(
                f"table {name} does not exist at {self.location(name)}; run the "
                "pipeline step that writes it first (ingest writes silver.*)"
            )
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        if self.is_catalog(name):
            return reader.table(self.location(name))
        return reader.load(self.location(name))

    def delta_table(self, name: str):  # -> DeltaTable
        from delta.tables import DeltaTable

        where = self.location(name)
        if self.is_catalog(name):
            return DeltaTable.forName(self.spark, where)
        return DeltaTable.forPath(self.spark, where)

    def version(self, name: str) -> int:
        return int(self.delta_table(name).history(1).select("version").first()[0])

    # -- writes -----------------------------------------------------------------

    def create_declared(self, name: str, spec: TableSpec) -> bool:
        """Create ``name`` from its declaration if missing: column and table
        comments, and the change data feed on, so BI tools and incremental
        readers see what changed. Returns whether it was created."""
        from delta.tables import DeltaTable

        if self.exists(name):
            return False
        builder = DeltaTable.createIfNotExists(self.spark)
        where = self.location(name)
        builder = (
            builder.tableName(where) if self.is_catalog(name) else builder.location(where)
        )
        for c in spec.columns:
            builder = builder.addColumn(
                c.name, c.dtype, nullable=True, comment=c.description or None
            )
        builder.comment(spec.description).property(
            "delta.enableChangeDataFeed", "true"
        ).execute()
        log.info("create table=%s location=%s", name, where)
        return True

    def _result(self, name: str, started: float) -> WriteResult:
        row = self.delta_table(name).history(1).first()
        m = row["operationMetrics"] or {}

        def metric(*keys: str) -> int:
            return sum(int(m.get(k, 0) or 0) for k in keys)

        result = WriteResult(
            table=name,
            version=int(row["version"]),
            # A MERGE reports its inserts; a write only the rows it wrote
            # (a MERGE's numOutputRows also counts updated and copied rows).
            inserted=metric(
                "numTargetRowsInserted" if "numTargetRowsInserted" in m else "numOutputRows"
            ),
            updated=metric("numTargetRowsUpdated"),
            deleted=metric("numTargetRowsDeleted"),
            seconds=time.perf_counter() - started,
        )
        log.info(
            "write table=%s version=%d inserted=%d updated=%d deleted=%d seconds=%.1f",
            name,
            result.version,
            result.inserted,
            result.updated,
            result.deleted,
            result.seconds,
        )
        _WRITES.append(result)
        return result

    def overwrite(
        self, df: DataFrame, name: str, partition_by: list[str] | None = None
    ) -> WriteResult:
        """Replace the whole table in one commit (schema replaced too)."""
        started = time.perf_counter()
        writer = (
            df.write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
        )
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        if self.is_catalog(name):
            writer.saveAsTable(self.location(name))
        else:
            writer.save(self.location(name))
        return self._result(name, started)

    def merge(
        self,
        df: DataFrame,
        name: str,
        key: list[str] | tuple[str, ...],
        *,
        update_when: str | Column | None = None,
        insert_only: bool = False,
        delete_unmatched: Column | None = None,
    ) -> WriteResult:
        """MERGE ``df`` into ``name`` on ``key`` in one atomic Delta commit.

        The table is created from ``df`` when missing. Rows of ``df`` must be
        unique on ``key``.

        Args:
            df: the rows to write.
            name: logical table name.
            key: the table's key columns.
            update_when: condition (over ``t.`` target and ``s.`` source) under
                which a matched row is rewritten; None rewrites every match.
            insert_only: never update matched rows.
            delete_unmatched: delete target rows that match this condition (over
                target columns) and have no source row; how a rerun for one date
                drops rows it no longer produces.

        Returns:
            The commit's version and row counts.
        """
        started = time.perf_counter()
        if not self.exists(name):
            layer, table = self._check_name(name)
            spec = GOLD_TABLES.get(table) if layer == "gold" else None
            if spec is None:
                return self.overwrite(df, name)
            self.create_declared(name, spec)
        cond = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
        merger = (
            self.delta_table(name)
            .alias("t")
            .merge(df.alias("s"), cond)
            .withSchemaEvolution()
        )
        if not insert_only:
            merger = merger.whenMatchedUpdateAll(condition=update_when)
        merger = merger.whenNotMatchedInsertAll()
        if delete_unmatched is not None:
            merger = merger.whenNotMatchedBySourceDelete(condition=delete_unmatched)
        merger.execute()
        return self._result(name, started)


def row_hash(columns: list[str]) -> Column:
    """A stable hash of the given columns' values (nulls distinguished)."""
    return F.sha2(
        F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns])), 256
    )
