"""The README's benchmark section keeps figures whose result files are absent."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# bench/ is scripts, not a package; run_all imports its sibling _common
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


def test_missing_result_keeps_its_readme_block():
    r = importlib.import_module("run_all")
    old = "\n".join([
        r.START,
        "Measured by ...",
        "",
        "**train** (2026-01-01 00:00 UTC):",
        "",
        "```text",
        "setup  s_per_epoch",
        "plain  0.03",
        "```",
        "",
        "A note on the train figures.",
        "",
        "**score**: not measured yet.",
        "",
        r.END,
    ])
    previous = r.previous_blocks(old)
    assert previous["train"].splitlines()[-1] == "A note on the train figures."
    fresh = {"pipeline": {"measured_at": "2026-02-02 00:00 UTC", "table": "t 1"}}
    section = r.readme_section(fresh, {}, previous)

    # the train block and its note stay; the new pipeline table replaces nothing
    assert "**train** (2026-01-01 00:00 UTC):" in section
    assert "plain  0.03" in section and "A note on the train figures." in section
    assert "**pipeline** (2026-02-02 00:00 UTC):" in section and "t 1" in section
    # a benchmark never measured still says so, once
    assert section.count("**score**: not measured yet.") == 1
    assert "**graph**: not measured yet." in section
