"""The command line: every step parses, errors exit cleanly, the demo runs end to end."""

from __future__ import annotations

import pytest

from pathlib import Path

from campaign_revenue.cli import STEPS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_step_has_help(step, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([step, "--help"])
    assert exc.value.code == 0
    assert "--conf" in capsys.readouterr().out


def test_bad_config_value_exits_2_with_the_key(capsys):
    code = main(["snapshots", "--set", "ray.num_workers=0"])
    assert code == 2
    assert "ray.num_workers" in capsys.readouterr().err


def test_bad_query_exits_1_with_the_position(capsys):
    code = main(["query", "PREDICT FOO(x, 0, 30, days)", "--no-sample"])
    assert code == 1
    assert "query error at column 9" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_end_to_end_on_the_tiny_preset(spark, tmp_path, capsys):
    root = tmp_path / "lakehouse"
    code = main(
        [
            "demo",
            "--conf",
            str(ROOT / "conf" / "local.yaml"),
            "--preset",
            "tiny",
            "--set",
            f"lakehouse.root={root}",
            "--set",
            f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
            "--set",
            "snapshots.warmup_days=28",
            # the pipeline's wiring is under test here, not the model's fit
            "--set",
            "training.epochs=2",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[4/6] graph" in out and "[6/6] score" in out and "demo done" in out
    assert "seconds per step: generate" in out
    assert "gold.campaign_predictions: " in out

    from pyspark.sql import functions as F

    from campaign_revenue.config import LakehouseConfig
    from campaign_revenue.tables import Lakehouse

    lh = Lakehouse(spark, LakehouseConfig(root=str(root)))
    assert lh.read("silver.touchpoints").count() > 10_000
    examples = lh.read("features.training_examples")
    splits = {r["split"] for r in examples.select("split").distinct().collect()}
    assert {"train", "score"} <= splits
    labelled = examples.where(F.col("split") == "train")
    assert labelled.agg(F.sum("label")).first()[0] > 0
    features = lh.read("features.campaign_snapshots")
    assert features.count() == examples.count()
    assert lh.read("graph.edges").where(F.col("relationship") == "touched").count() > 0

    # the champion's forecasts reached gold: one row per campaign scored, the
    # interval around the forecast, and reasons for each
    gold = lh.read("gold.campaign_predictions")
    scored = gold.agg(
        F.count("*").alias("rows"),
        F.countDistinct("campaign_id").alias("campaigns"),
        F.min("predicted_revenue").alias("low"),
        F.sum(
            (
                (F.col("revenue_lower") <= F.col("predicted_revenue"))
                & (F.col("predicted_revenue") <= F.col("revenue_upper"))
            ).cast("int")
        ).alias("inside"),
    ).first()
    assert scored["rows"] == scored["campaigns"] > 0
    assert scored["low"] >= 0 and scored["inside"] == scored["rows"]
    reasons = lh.read("gold.prediction_attributions")
    assert reasons.select("campaign_id").distinct().count() == scored["campaigns"]
