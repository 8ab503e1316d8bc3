"""Shared benchmark helpers: peak memory of a process tree, result tables and JSON."""

from __future__ import annotations

import json
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "results"


def tree_rss(pid: int | None = None, children: bool = True) -> int:
    """Resident bytes of a process and, by default, its children (the Spark JVM)."""
    proc = psutil.Process(pid)
    total = 0
    for p in [proc, *(proc.children(recursive=True) if children else [])]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


@contextmanager
def peak_memory(
    interval: float = 0.2, children: bool = True
) -> Iterator[dict[str, int]]:
    """Sample RSS while the block runs; yields {'peak': bytes}.

    ``children=False`` leaves out child processes, e.g. an idle Spark JVM while
    an in-process engine (DuckDB) is measured.
    """
    out = {"peak": tree_rss(children=children)}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            out["peak"] = max(out["peak"], tree_rss(children=children))
            stop.wait(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join()


def timed_runs(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median seconds of ``repeats`` calls of ``fn`` and the individual times."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def machine() -> dict[str, object]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def print_table(rows: list[dict[str, object]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    lines = ["  ".join(c.rjust(widths[c]) for c in columns)]
    lines.append("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        lines.append("  ".join(_fmt(r.get(c)).rjust(widths[c]) for c in columns))
    text = "\n".join(lines)
    print(text)
    return text


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


def write_result(name: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {path}")
    return path
