"""Shared fixtures: one local Spark session with Delta, a temporary lakehouse."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def spark_cfg():
    from campaign_revenue.config import load_config

    return load_config(
        ROOT / "conf" / "local.yaml",
        [
            "spark.master=local[2]",
            "spark.conf.spark.sql.shuffle.partitions=2",
            "spark.conf.spark.default.parallelism=2",
            "spark.conf.spark.driver.memory=3g",
        ],
    ).spark


@pytest.fixture(scope="session")
def spark(spark_cfg, tmp_path_factory):
    from campaign_revenue.spark import build_spark

    spark_cfg.checkpoint_dir = str(tmp_path_factory.mktemp("checkpoints"))
    session = build_spark(spark_cfg, app_name="campaign-revenue-tests")
    yield session
    session.stop()


@pytest.fixture()
def cfg(tmp_path, spark_cfg):
    """A run configuration with its own temporary lakehouse."""
    from campaign_revenue.config import load_config

    c = load_config(
        ROOT / "conf" / "local.yaml",
        [
            f"lakehouse.root={tmp_path / 'lakehouse'}",
            f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
        ],
    )
    c.spark = spark_cfg
    return c


@pytest.fixture()
def lakehouse(spark, cfg):
    from campaign_revenue.tables import Lakehouse

    return Lakehouse(spark, cfg.lakehouse)
