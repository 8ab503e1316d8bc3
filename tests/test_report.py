"""The report step: gold tables to one HTML page, checked in headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from campaign_revenue.cli import main
from campaign_revenue.report import run_report
from campaign_revenue.schema import GOLD_TABLES, INPUT_TABLES, TableSpec

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Four weekly-ish scoring dates; conversions end on 2025-06-05, so the 30-day
# windows of the first three have closed and the last one's has not.
DATES = [dt.date(2025, 4, 1), dt.date(2025, 4, 15), dt.date(2025, 5, 1),
         dt.date(2025, 6, 1)]
AS_OF = DATES[-1]
SCORED_AT = dt.datetime(2025, 6, 1, 6, 0)
PREDICTED = {"cmp_a": 200.0, "cmp_b": 150.0, "cmp_c": 50.0}


def _frame(spark, spec: TableSpec, rows: list[dict]):
    """Rows in the declared column order; a key outside the spec is an error."""
    for r in rows:
        assert set(r) == set(spec.column_names), set(r) ^ set(spec.column_names)
    return spark.createDataFrame(
        [tuple(r[c] for c in spec.column_names) for r in rows], spec.ddl()
    )


def _gold(lakehouse, table: str, rows: list[dict]) -> None:
    spec = GOLD_TABLES[table]
    lakehouse.merge(_frame(lakehouse.spark, spec, rows), f"gold.{table}", spec.key)


def _silver(lakehouse) -> None:
    campaigns = [
        {
            "campaign_id": cid,
            "campaign_name": name,
            "channel": channel,
            "budget": 3000.0,
            "start_date": dt.date(2025, 1, 1),
            "end_date": None,
            "targeting": "prospecting",
        }
        for cid, name, channel in (
            ("cmp_a", "social prospecting 2025-01", "social"),
            ("cmp_b", "paid_search brand 2025-01", "paid_search"),
            ("cmp_c", "display lookalike 2025-01", "display"),
        )
    ]
    conversions = [
        # at exactly 2025-04-01 00:00: in the window of 04-01
        ("cv1", "cmp_a", 100.0, dt.datetime(2025, 4, 1, 0, 0)),
        ("cv2", "cmp_b", 250.0, dt.datetime(2025, 4, 20, 12, 0)),
        # at 05-01 00:00: outside [04-01, 05-01), inside the next two windows
        ("cv3", "cmp_a", 40.0, dt.datetime(2025, 5, 1, 0, 0)),
        ("cv4", "cmp_c", 60.0, dt.datetime(2025, 5, 20, 9, 0)),
        ("cv5", "cmp_b", 30.0, dt.datetime(2025, 6, 5, 18, 0)),
        ("cv6", None, 500.0, dt.datetime(2025, 4, 10, 9, 0)),  # organic
    ]
    spark = lakehouse.spark
    lakehouse.overwrite(
        _frame(spark, INPUT_TABLES["campaigns"], campaigns), "silver.campaigns"
    )
    lakehouse.overwrite(
        _frame(
            spark,
            INPUT_TABLES["conversions"],
            [
                {"conversion_id": c, "customer_id": "cu_1", "campaign_id": cmp,
                 "revenue": rev, "ts": ts}
                for c, cmp, rev, ts in conversions
            ],
        ),
        "silver.conversions",
    )


def _predictions(dates: list[dt.date]) -> list[dict]:
    roas = {"cmp_a": (3.0, 1.2, 100.0), "cmp_b": (5.0, 0.4, 80.0),
            "cmp_c": (1.5, None, 40.0)}
    return [
        {
            "campaign_id": cid,
            "as_of_date": d,
            "is_launched": True,
            "predicted_revenue": revenue,
            "revenue_lower": revenue * 0.5,
            "revenue_upper": revenue * 1.5,
            "interval_level": 0.8,
            "predicted_incremental_revenue": None,
            "incremental_lower": None,
            "incremental_upper": None,
            "incremental_roas": roas[cid][1],
            "last_touch_roas": roas[cid][0],
            "planned_spend": roas[cid][2],
            "model_name": "campaign-revenue-gnn",
            "model_version": "3",
            "mlflow_run_id": "run123",
            "scored_at": SCORED_AT,
        }
        for d in dates
        for cid, revenue in PREDICTED.items()
    ]


def _attributions() -> list[dict]:
    reasons = [
        ("organic_buyer_share_90d", "audience overlap with recent organic buyers",
         0.4, "40%", "lowers", 0.5),
        ("spend_30d", "spend in the last 30 days", 1234.0, "$1,234", "raises", 0.3),
    ]
    return [
        {
            "campaign_id": cid,
            "as_of_date": AS_OF,
            "rank": rank,
            "feature": feature,
            "description": description,
            "feature_value": value,
            "display_value": display,
            "direction": direction,
            "share": share,
        }
        for cid in PREDICTED
        for rank, (feature, description, value, display, direction, share) in
        enumerate(reasons, start=1)
    ]


def _allocations() -> list[dict]:
    # current -> recommended spend, incremental revenue current -> recommended
    plan = {"cmp_a": (100.0, 150.0, 120.0, 160.0),
            "cmp_b": (80.0, 40.0, 32.0, 20.0),
            "cmp_c": (40.0, 30.0, 20.0, 16.0)}
    return [
        {
            "campaign_id": cid,
            "as_of_date": AS_OF,
            "current_spend": cur,
            "recommended_spend": rec,
            "expected_incremental_revenue_current": rev_cur,
            "expected_incremental_revenue_recommended": rev_rec,
        }
        for cid, (cur, rec, rev_cur, rev_rec) in plan.items()
    ]


def _backtest(run_id: str, wape: dict[str, float]) -> list[dict]:
    rows = []
    for method, value in wape.items():
        for as_of_date, slice_, v in ((None, "all", value),
                                      (None, "launched", value + 1.0),
                                      (dt.date(2025, 3, 1), "all", value + 2.0)):
            for metric, mv in (("wape", v), ("mae", 1000 * v), ("spearman", 0.7)):
                rows.append({
                    "run_id": run_id,
                    "query": "PREDICT SUM(conversions.revenue, 0, 30, days) "
                    "FOR EACH campaigns.campaign_id",
                    "method": method,
                    "as_of_date": as_of_date,
                    "slice": slice_,
                    "metric": metric,
                    "value": mv,
                    "n": 64,
                })
    return rows


@pytest.fixture()
def gold_lakehouse(lakehouse):
    """Every table the report reads, on hand-made rows."""
    _silver(lakehouse)
    _gold(lakehouse, "campaign_predictions", _predictions(DATES))
    _gold(lakehouse, "prediction_attributions", _attributions())
    _gold(lakehouse, "budget_allocations", _allocations())
    # An older run first: its persistence WAPE must not reach the page.
    _gold(lakehouse, "backtest_metrics", _backtest("run_old", {"persistence": 0.9}))
    _gold(
        lakehouse,
        "backtest_metrics",
        _backtest("run_new", {"persistence": 0.483, "lightgbm": 0.417,
                              "last_touch_roas": 0.386}),
    )
    return lakehouse


# -- the browser ----------------------------------------------------------------------

CHARTS_JS = """() => Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const box = f.getBoundingClientRect();
  const marks = Array.from(f.querySelectorAll('svg .mark'));
  const drawn = marks.filter(m => { const b = m.getBBox();
                                    return b.width > 0 || b.height > 0; });
  return {chart: f.dataset.chart, points: Number(f.dataset.points),
          width: box.width, height: box.height, marks: marks.length,
          drawn: drawn.length};
})"""


def open_in_chromium(
    page_path: Path, screenshot: Path, probe: Callable[[Page], dict] | None = None
) -> dict:
    """Load the page offline in headless Chromium; what it drew and logged.

    Returns:
        charts (one dict per figure.chart), text (the body's text), errors
        (console errors and page errors), blocked (non-file requests tried)
        and whatever ``probe`` read from the page.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing; install it with `deploy/check-browser.sh` (as root) "
            "(the report test needs a real browser)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing; run `.venv/bin/pip install -e .[dev]`")

    errors: list[str] = []
    blocked: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    def on_request(route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", on_console)
            page.on("pageerror", lambda err: errors.append(f"pageerror: {err}"))
            page.route("**/*", on_request)
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(screenshot), full_page=True)
            seen = {
                "charts": page.evaluate(CHARTS_JS),
                "text": page.inner_text("body"),
                **(probe(page) if probe else {}),
            }
        finally:
            browser.close()
    return {**seen, "errors": errors, "blocked": blocked}


def read_values(page: Page) -> dict:
    """The numbers the test wrote, as the page shows them."""
    return {
        "wape": {
            m: page.inner_text(f'td[data-method="{m}"][data-metric="wape"]')
            for m in ("persistence", "lightgbm", "last_touch_roas")
        },
        "headline": page.get_attribute(".headline-value", "data-value"),
        "actual": {
            d.isoformat(): page.get_attribute(
                f'td[data-date="{d}"][data-actual]', "data-actual"
            )
            for d in DATES
        },
    }


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


# -- tests ----------------------------------------------------------------------------


def test_report_renders_every_chart_with_the_values_written(
    spark, cfg, gold_lakehouse, tmp_path
):
    out = tmp_path / "report.html"
    summary = run_report(spark, cfg, gold_lakehouse, out=out)

    assert summary.as_of == AS_OF  # the latest forecast date
    assert summary.path == out
    assert summary.charts == {
        "forecast": 4, "roas": 3, "reallocation": 3, "backtest": 3
    }
    assert summary.empty == []
    assert summary.tables["gold.campaign_predictions"] == 12
    assert summary.tables["gold.backtest_metrics"] == 4 * 9

    page = out.read_text()
    for external in ("http://", "https://", "<script", "<link", "@import", "url("):
        # the SVG namespace is an identifier, not a request
        assert external not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")

    shot = tmp_path / "report.png"
    seen = open_in_chromium(out, shot, read_values)
    assert seen["errors"] == []
    assert seen["blocked"] == []
    width, height = _png_size(shot)
    assert width >= 1000 and height > 1500
    assert shot.stat().st_size > 50_000

    charts = {c["chart"]: c for c in seen["charts"]}
    assert set(charts) == {"forecast", "roas", "reallocation", "backtest"}
    for c in charts.values():
        assert c["width"] > 0 and c["height"] > 0, c
        assert c["points"] > 0 and c["drawn"] > 0, c
    # ROAS: three last-touch bars, two incremental (cmp_c has none yet)
    assert charts["roas"]["marks"] == 5
    assert charts["backtest"]["marks"] == 3
    # forecast: 4 predicted dots + a line, 3 actual dots + a line, the band
    assert charts["forecast"]["marks"] == 4 + 1 + 3 + 1 + 1

    assert seen["wape"] == {
        "persistence": "0.483", "lightgbm": "0.417", "last_touch_roas": "0.386"
    }
    # (160 + 20 + 16) - (120 + 32 + 20)
    assert seen["headline"] == "24.00"
    # closed windows: 100 + 250; 250 + 40; 40 + 60; the last is still open
    assert seen["actual"] == {
        "2025-04-01": "350.00",
        "2025-04-15": "290.00",
        "2025-05-01": "100.00",
        "2025-06-01": "",
    }
    text = seen["text"]
    assert "+$24" in text and "Moving $50 of the $220" in text
    assert "audience overlap with recent organic buyers" in text
    assert "social prospecting 2025-01 (cmp_a)" in text


def test_missing_tables_are_named_on_the_page_not_a_crash(
    spark, cfg, lakehouse, tmp_path, capsys
):
    _gold(lakehouse, "campaign_predictions", _predictions(DATES[:2]))

    code = main([
        "report",
        "--conf", str(ROOT / "conf" / "local.yaml"),
        "--set", f"lakehouse.root={cfg.lakehouse.root}",
        "--set", f"mlflow.tracking_uri={cfg.mlflow.tracking_uri}",
    ])

    assert code == 0
    out = Path(cfg.lakehouse.root) / "reports" / f"report_{DATES[1]}.html"
    assert str(out) in capsys.readouterr().out
    seen = open_in_chromium(out, tmp_path / "empty.png")
    assert seen["errors"] == [] and seen["blocked"] == []
    assert [c["chart"] for c in seen["charts"]] == ["forecast", "roas"]
    text = seen["text"]
    assert "no allocation yet: run campaign-revenue allocate" in text
    assert "no attributions yet: run campaign-revenue score" in text
    assert "no backtest yet: run campaign-revenue evaluate" in text
    assert "needs silver.campaigns and silver.conversions" in text


def test_a_folder_out_gets_one_dated_file_per_run(spark, cfg, lakehouse, tmp_path):
    _gold(lakehouse, "campaign_predictions", _predictions(DATES[:1]))
    folder = tmp_path / "reports"
    folder.mkdir()

    summary = run_report(spark, cfg, lakehouse, out=folder)

    assert summary.path == folder / f"report_{DATES[0]}.html"
    page = summary.path.read_text()
    assert "Campaign revenue report" in page
    assert f'<time datetime="{DATES[0]}">' in page
