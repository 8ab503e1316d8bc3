"""Config loading: the shipped files validate; bad keys and values are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_revenue.config import ConfigError, apply_overrides, load_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["local.yaml", "cluster.yaml", "databricks.yaml"])
def test_shipped_configs_validate(name):
    cfg = load_config(ROOT / "conf" / name)
    assert cfg.query.startswith("PREDICT SUM(CONVERSIONS.REVENUE")


def test_overrides_reach_nested_and_freeform_keys():
    cfg = load_config(
        ROOT / "conf" / "local.yaml",
        [
            "lakehouse.root=/tmp/lh",
            "ray.num_workers=4",
            "spark.conf.spark.sql.shuffle.partitions=3",
            "quality.max_bad_fraction=0.1",
        ],
    )
    assert cfg.lakehouse.root == "/tmp/lh"
    assert cfg.ray.num_workers == 4
    assert cfg.spark.conf["spark.sql.shuffle.partitions"] == "3"
    assert cfg.quality.max_bad_fraction == 0.1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lakehouse.rot=/x", r"lakehouse\.rot: unknown key"),
        ("ray.num_workers=0", r"ray\.num_workers: Input should be greater than or "
         r"equal to 1 \(got 0\)"),
        ("quality.max_bad_fraction=2", r"quality\.max_bad_fraction: .*less than or "
         r"equal to 1"),
        ("ray.mode=yarn", r"ray\.mode: Input should be 'local', 'cluster' or 'spark'"),
        ("snapshots.first_as_of=soon", r"snapshots\.first_as_of: .*date"),
    ],
    ids=["unknown-key", "too-few-workers", "fraction", "enum", "date"],
)
def test_bad_values_name_the_key_value_and_rule(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(ROOT / "conf" / "local.yaml", [override])


def test_fractions_must_leave_training_data():
    with pytest.raises(ConfigError, match=r"validation_fraction \+ test_fraction"):
        load_config(
            None,
            ["snapshots.validation_fraction=0.5", "snapshots.test_fraction=0.5"],
        )


def test_override_syntax_errors():
    with pytest.raises(ConfigError, match=r"must look like dotted\.key=value"):
        apply_overrides({}, ["lakehouse.root"])
    with pytest.raises(ConfigError, match=r"query is a value, not a section"):
        apply_overrides({"query": "x"}, ["query.text=y"])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"config file .*nope\.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")
