"""Deploy definitions: every bundle task names an entry point and flags that parse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from campaign_revenue.cli import build_parser
from campaign_revenue.config import load_config

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "deploy" / "databricks" / "databricks.yml"
VARIABLE = re.compile(r"\$\{[^}]+\}")


def bundle_tasks(bundle: dict) -> list[tuple[str, dict]]:
    return [
        (f"{job_name}.{task['task_key']}", task)
        for job_name, job in bundle["resources"]["jobs"].items()
        for task in job["tasks"]
    ]


def check_task(name: str, task: dict, bundle_dir: Path) -> str:
    """The step a task runs; raises ValueError when its entry point or flags are wrong."""
    python_file = (bundle_dir / task["spark_python_task"]["python_file"]).resolve()
    if not python_file.is_file() or python_file.parent != ROOT / "jobs":
        raise ValueError(f"task {name}: no entry point {python_file}")
    step = python_file.stem
    params = [
        VARIABLE.sub("x", p) for p in task["spark_python_task"].get("parameters", [])
    ]
    try:
        build_parser().parse_args([step, *params])
    except SystemExit:
        raise ValueError(f"task {name}: {step} does not accept {params}") from None
    return step


def test_every_task_names_an_entry_point_with_flags_that_parse():
    bundle = yaml.safe_load(BUNDLE.read_text())
    steps = [check_task(n, t, BUNDLE.parent) for n, t in bundle_tasks(bundle)]
    assert steps == [
        "ingest", "snapshots", "graph", "score",
        "train", "evaluate", "allocate", "report",
    ]
    assert set(bundle["targets"]) == {"dev", "prod"}


def test_the_check_fails_on_a_flag_the_entry_point_does_not_accept(capsys):
    task = {
        "task_key": "graph",
        "spark_python_task": {
            "python_file": "../../jobs/graph.py",
            "parameters": ["--conf", "x", "--no-such-flag"],
        },
    }
    with pytest.raises(ValueError, match=r"graph does not accept"):
        check_task("daily.graph", task, BUNDLE.parent)
    task["spark_python_task"]["python_file"] = "../../jobs/nope.py"
    with pytest.raises(ValueError, match=r"no entry point"):
        check_task("daily.nope", task, BUNDLE.parent)


def test_databricks_config_uses_the_runtime_jars_and_catalog_tables():
    cfg = load_config(ROOT / "conf" / "databricks.yaml")
    assert cfg.spark.resolve_packages is False
    assert cfg.ray.mode == "spark"
    from campaign_revenue.tables import Lakehouse

    lh = Lakehouse(None, cfg.lakehouse)  # naming needs no session
    assert lh.location("gold.campaign_predictions") == (
        "marketing.campaign_revenue_gold.campaign_predictions"
    )
    assert lh.location("quarantine") == "marketing.campaign_revenue_silver.quarantine"
