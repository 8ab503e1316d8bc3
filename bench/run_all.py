"""Every benchmark in one run: bench/results.json and the README's benchmark section.

Each benchmark runs as its own process (a fresh JVM and Ray each time, so one
cannot warm the next), in this order:

    pipeline        demo preset at 1x, 4x and 16x, seconds and peak memory per step
    pipeline_large  the large preset end to end (goal: under 30 minutes on 2 cores)
    ingest          Spark + Delta vs DuckDB on the same touchpoint files
    graph           the graph step vs DuckDB on the same features
    train           plain PyG loop vs Ray Train with 1 and 2 workers, per epoch
    score           scoring the demo preset, a 10k-campaign variant and the large preset

``--quick`` runs each at its smallest size (1x only, 1M ingest rows, no large
preset, demo scoring) to check the harness. The README section between the
``bench:start`` and ``bench:end`` markers is replaced with the tables measured,
the machine and the date; results of benchmarks not run this time are kept
from bench/results/ where they exist, with their own date.

    .venv/bin/python bench/run_all.py            # all of it: hours on 2 cores
    .venv/bin/python bench/run_all.py --quick --only pipeline,score
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import RESULTS, machine  # noqa: E402

README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
ORDER = ("pipeline", "pipeline_large", "ingest", "graph", "train", "score")


# The large preset's 60M touchpoints: ingest ran out of a 6g heap with 8 shuffle
# partitions (the local default) and finished with these on 24 GiB.
LARGE_SPARK = [
    "--set", "spark.conf.spark.driver.memory=14g",
    "--set", "spark.conf.spark.sql.shuffle.partitions=64",
]


def commands(work: Path, quick: bool) -> dict[str, list[str]]:
    """The command line of each benchmark (``train`` reuses the 1x lakehouse)."""
    one = work / "pipeline" / "demo_x1"
    return {
        "pipeline": [
            "pipeline.py", "--scales", "1" if quick else "1,4,16",
            "--work", str(work / "pipeline"),
        ],
        "pipeline_large": [
            "pipeline.py", "--preset", "large", "--scales", "1",
            "--work", str(work / "large"), *LARGE_SPARK,
        ],
        "ingest": ["ingest.py", "--rows", *(["1000000"] if quick else
                                           ["1000000", "10000000"])],
        "graph": ["graph.py", "--preset", "demo"],
        "train": [
            "train.py", "--root", str(one / "lh"), "--epochs", "3" if quick else "5",
            "--set", f"mlflow.tracking_uri=sqlite:///{one / 'mlflow.db'}",
        ],
        "score": ["score.py", "--scales", "demo" if quick else "demo,10k,large",
                  "--work", str(work / "score"), *([] if quick else LARGE_SPARK)],
    }


def run_one(name: str, argv: list[str]) -> dict[str, object]:
    """Run one benchmark; its exit code, seconds and the tail of its output."""
    print(f"== {name}: {' '.join(argv)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(HERE / argv[0]), *argv[1:]],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - started
    tail = proc.stdout[-3000:]
    print(tail, flush=True)
    print(f"== {name}: exit {proc.returncode} in {seconds:.0f} s", flush=True)
    return {"exit": proc.returncode, "seconds": round(seconds, 1), "command": argv}


def load(name: str) -> dict[str, object] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    payload["measured_at"] = dt.datetime.fromtimestamp(
        path.stat().st_mtime, dt.timezone.utc
    ).strftime("%Y-%m-%d %H:%M UTC")
    return payload


def table_text(name: str, payload: dict[str, object]) -> str:
    """A benchmark's printed table, or its top-level figures when it has none."""
    if isinstance(payload.get("table"), str):
        return payload["table"]
    skip = {"benchmark", "machine", "measured_at", "rows", "graph_rows", "input_rows"}
    return "\n".join(f"{k}: {v}" for k, v in payload.items() if k not in skip)


def previous_blocks(text: str) -> dict[str, str]:
    """Each benchmark's block in the README section as it stands, from its
    ``**name**`` line to the next benchmark's, notes under it included."""
    if START not in text or END not in text:
        return {}
    body = text.split(START, 1)[1].split(END, 1)[0]
    blocks: dict[str, list[str]] = {}
    current = None
    for line in body.splitlines():
        head = re.match(r"\*\*(\w+)\*\*", line)
        if head and head.group(1) in ORDER:
            current = head.group(1)
            blocks[current] = []
        if current is not None:
            blocks[current].append(line)
    return {name: "\n".join(lines).rstrip("\n") + "\n" for name, lines in blocks.items()}


def readme_section(
    results: dict[str, dict[str, object]], runs: dict, previous: dict[str, str]
) -> str:
    """The benchmark section: a fresh block for each result on disk; where a
    benchmark has none (bench/results/ is not committed, so a new checkout
    has none), the block already in the README, so no figure is lost."""
    m = machine()
    lines = [
        START,
        f"Measured by `.venv/bin/python bench/run_all.py` on {m['cpus']} CPUs, "
        f"{m['memory_gib']} GiB ({m['platform']}, Python {m['python']}); seconds "
        "are wall clock on a shared machine, ratios are within one run.",
        "",
    ]
    for name in ORDER:
        payload = results.get(name)
        if payload is None:
            kept = previous.get(name)
            if kept is not None and "not measured yet" not in kept:
                lines += [kept.rstrip("\n"), ""]
            else:
                lines += [f"**{name}**: not measured yet.", ""]
            continue
        how = runs.get(name)
        status = "" if how is None or how["exit"] == 0 else " (FAILED this run)"
        lines += [
            f"**{name}** ({payload['measured_at']}){status}:",
            "",
            "```text",
            table_text(name, payload),
            "```",
            "",
        ]
    lines.append(END)
    return "\n".join(lines)


def update_readme(section: str) -> None:
    text = README.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n## Benchmarks\n\n" + section + "\n"
    README.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ORDER), help="comma-separated")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work", default=None, help="working folder (default: temp)")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(ORDER)}")
    if args.quick and "pipeline_large" in chosen:
        chosen.remove("pipeline_large")
    if "train" in chosen and "pipeline" not in chosen and args.work is None:
        parser.error("train reads the 1x pipeline lakehouse: add pipeline or --work")

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-all-"))
    cmds = commands(work, args.quick)
    runs = {name: run_one(name, cmds[name]) for name in ORDER if name in chosen}
    results = {name: p for name in ORDER if (p := load(name)) is not None}
    out = HERE / "results.json"
    out.write_text(
        json.dumps(
            {"machine": machine(), "runs": runs, "results": results},
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"wrote {out}")
    if not args.no_readme:
        previous = previous_blocks(README.read_text())
        update_readme(readme_section(results, runs, previous))
        print(f"updated the benchmark section of {README}")
    failed = [n for n, r in runs.items() if r["exit"] != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
