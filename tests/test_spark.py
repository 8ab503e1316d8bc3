"""The session helper: Delta works, GraphFrames where served, Java is checked."""

from __future__ import annotations

import pytest

from campaign_revenue import spark as spark_mod


def test_delta_round_trip_and_utc(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.range(5).write.format("delta").save(path)
    assert spark.read.format("delta").load(path).count() == 5
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.sparkContext.getCheckpointDir() is not None


def test_graphframes_algorithm_runs_when_its_jar_is_served(spark):
    if not spark_mod.jvm_class_available(spark, "org.graphframes.GraphFrame"):
        pytest.skip(
            "the GraphFrames jar is not on the classpath: the configured Maven "
            "repository does not serve io.graphframes (see README)"
        )
    from graphframes import GraphFrame

    v = spark.createDataFrame([("a",), ("b",), ("c",)], ["id"])
    e = spark.createDataFrame([("a", "b")], ["src", "dst"])
    comp = GraphFrame(v, e).connectedComponents().collect()
    labels = {r["id"]: r["component"] for r in comp}
    assert labels["a"] == labels["b"] != labels["c"]


def test_optional_package_left_out_when_not_served(monkeypatch, spark_cfg):
    monkeypatch.setattr(spark_mod, "package_served", lambda *a, **k: False)
    monkeypatch.setattr(spark_mod, "_jar_cached", lambda *a, **k: False)
    cfg = spark_cfg.model_copy(update={"optional_packages": ["g:a:1"]})
    with pytest.warns(RuntimeWarning, match=r"optional JVM package g:a:1 is not served"):
        assert spark_mod.resolvable_packages(cfg) == list(cfg.packages)


def test_missing_java_says_how_to_install(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark_mod.shutil, "which", lambda name: None)
    with pytest.raises(spark_mod.JavaMissingError, match=r"apt-get install -y openjdk-17"):
        spark_mod.java_version()


def test_merge_counts_inserts_and_updates_once(spark, tmp_path):
    from campaign_revenue.config import LakehouseConfig
    from campaign_revenue.tables import Lakehouse

    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))
    rows = spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string")
    first = lh.merge(rows, "silver.counts", ["k"])
    assert (first.inserted, first.updated) == (2, 0)
    changed = spark.createDataFrame([(2, "B"), (3, "c")], "k int, v string")
    second = lh.merge(changed, "silver.counts", ["k"])
    assert (second.inserted, second.updated, second.deleted) == (1, 1, 0)
    assert sorted(map(tuple, lh.read("silver.counts").collect())) == [
        (1, "a"), (2, "B"), (3, "c")
    ]
