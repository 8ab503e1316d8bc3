"""Connected components, and the graph step's Delta tables read back."""

from __future__ import annotations

import pytest
from graph_frames import AS_OF, silver_tables

from campaign_revenue.features import campaign_snapshot_features
from campaign_revenue.graph import connected_components
from campaign_revenue.graph.algorithms import GRAPHFRAME_CLASS
from campaign_revenue.graph.run import run_graph
from campaign_revenue.spark import jvm_class_available

# Components: {a, b, c}, {d, e}, a chain n7 - n6 - ... - n1 whose smallest
# label needs six rounds to travel, f alone, g with a self loop, h whose only
# edge points at a vertex that does not exist.
VERTICES = ["a", "b", "c", "d", "e", "f", "g", "h"] + [f"n{i}" for i in range(1, 8)]
EDGES = [("a", "b"), ("c", "b"), ("d", "e"), ("g", "g"), ("h", "x")] + [
    (f"n{i + 1}", f"n{i}") for i in range(1, 7)
]
EXPECTED = {
    "a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "f": "f", "g": "g", "h": "h",
    **{f"n{i}": "n1" for i in range(1, 8)},
}


def _graph(spark):
    v = spark.createDataFrame([(x,) for x in VERTICES], "id string")
    e = spark.createDataFrame(EDGES, "src string, dst string")
    return v, e


def test_components_dataframe(spark):
    v, e = _graph(spark)
    labels = connected_components(v, e, checkpoint_every=2, use_graphframes=False)
    assert {r["id"]: r["component"] for r in labels.collect()} == EXPECTED


def test_components_bounded_rounds_warn(spark):
    v, e = _graph(spark)
    with pytest.warns(RuntimeWarning, match="did not converge in 2 rounds"):
        connected_components(v, e, max_iterations=2, use_graphframes=False)


def test_components_graphframes_agree(spark):
    if not jvm_class_available(spark, GRAPHFRAME_CLASS):
        pytest.skip(
            "GraphFrames jar not on the classpath (the Maven proxy serves no "
            "io.graphframes artifacts); the DataFrame version is tested above"
        )
    v, e = _graph(spark)
    labels = connected_components(v, e, use_graphframes=True)
    assert {r["id"]: r["component"] for r in labels.collect()} == EXPECTED


def test_run_graph_tables_read_back(spark, cfg, lakehouse):
    for name, frame in silver_tables(spark).items():
        lakehouse.overwrite(frame, f"silver.{name}")

    summary = run_graph(spark, cfg, lakehouse, as_of=AS_OF)

    vertices = lakehouse.read("graph.vertices")
    types = {r["type"]: r["n"] for r in vertices.groupBy("type").count()
             .withColumnRenamed("count", "n").collect()}
    assert types == {
        "customer": 4, "campaign": 3, "channel": 2, "segment": 2, "ltv_tier": 3
    }
    assert vertices.where("id = 'campaign:c1' and channel = 'display'").count() == 1

    edges = lakehouse.read("graph.edges")
    by_rel = {r["relationship"]: r["count"]
              for r in edges.groupBy("relationship").count().collect()}
    # touched: one row per (customer, campaign, day): 6 rows from 8 events
    # (u1's two c1 events share a day, so do u2's two c2 events)
    assert by_rel == {
        "touched": 6, "converted_via": 2, "in_channel": 3, "in_segment": 4,
        "in_ltv_tier": 4,
    }
    u1 = edges.where(
        "src = 'customer:u1' and dst = 'campaign:c1' and relationship = 'touched'"
    ).first()
    assert (u1["n_events"], u1["n_clicks"], u1["n_impressions"]) == (2, 1, 1)
    assert str(u1["first_ts"]) == "2025-01-02 10:00:00"
    assert str(u1["last_ts"]) == "2025-01-02 11:00:00"
    # every edge end is a vertex
    ids = vertices.select("id")
    assert edges.join(ids.withColumnRenamed("id", "src"), "src", "left_anti").count() == 0
    assert edges.join(ids.withColumnRenamed("id", "dst"), "dst", "left_anti").count() == 0

    overlap = {(r["campaign_id"], r["other_campaign_id"]): r
               for r in lakehouse.read("graph.campaign_overlap").collect()}
    assert set(overlap) == {("c1", "c2"), ("c2", "c1")}
    pair = overlap[("c1", "c2")]
    assert (pair["shared_customers"], pair["same_channel"]) == (2, False)
    assert pair["jaccard"] == pytest.approx(2 / 3)

    snapshots = lakehouse.read("features.campaign_snapshots")
    assert snapshots.count() == 3  # c1, c2 active; c3 planned within 30 days
    assert summary.rows["features.campaign_snapshots"] == 3
    assert summary.pairs == 3 and summary.as_of_dates == 1
    assert "features.campaign_snapshots" in str(summary)

    # the step computes reach and overlap once for both tables; the rows are
    # those of the features computed on their own
    alone = campaign_snapshot_features(
        silver_tables(spark), snapshots.select("campaign_id", "as_of_date"), cfg.features
    )

    def by_key(frame):
        return {(r["campaign_id"], r["as_of_date"]): r.asDict() for r in frame.collect()}

    assert by_key(snapshots.select(*alone.columns)) == by_key(alone)

    # a rerun for the same date replaces its rows, never duplicates them
    run_graph(spark, cfg, lakehouse, as_of=AS_OF)
    assert lakehouse.read("features.campaign_snapshots").count() == 3


def test_one_date_run_keeps_the_other_dates_of_the_training_grid(
    spark, cfg, lakehouse
):
    import datetime as dt

    from pyspark.sql import functions as F

    for name, frame in silver_tables(spark).items():
        lakehouse.overwrite(frame, f"silver.{name}")
    earlier = AS_OF - dt.timedelta(days=7)
    lakehouse.overwrite(
        spark.createDataFrame(
            [("c1", earlier, 10.0), ("c1", AS_OF, 20.0), ("c2", AS_OF, 5.0)],
            "campaign_id string, as_of_date date, label double",
        ),
        "features.training_examples",
    )
    run_graph(spark, cfg, lakehouse)  # the whole grid: two dates
    before = lakehouse.read("features.campaign_snapshots")
    kept = before.where(F.col("as_of_date") == earlier).toPandas()
    assert len(kept) == 1

    # scoring's call: only AS_OF is computed (its examples plus c3, planned
    # within 30 days), the earlier date's row is left exactly as it was, and
    # the edge lists are not rewritten
    edges_version = lakehouse.version("graph.edges")
    summary = run_graph(spark, cfg, lakehouse, as_of=AS_OF, edge_lists=False)
    assert (summary.pairs, summary.as_of_dates) == (3, 1)
    assert set(summary.rows) == {"graph.campaign_overlap", "features.campaign_snapshots"}
    assert lakehouse.version("graph.edges") == edges_version
    after = lakehouse.read("features.campaign_snapshots")
    assert after.count() == 4
    again = after.where(F.col("as_of_date") == earlier).toPandas()
    assert again.equals(kept)
