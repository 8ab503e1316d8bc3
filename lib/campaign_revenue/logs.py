"""Logging set-up and a step timer that logs ``step key=value`` lines."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (test capture swaps it)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(level: str = "INFO") -> None:
    """Send the package's logs to stderr; quiet the chatty libraries."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("py4j", "urllib3", "matplotlib", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def timed(logger: logging.Logger, step: str, **fields: object) -> Iterator[dict]:
    """Log ``step ... seconds=S`` when the block ends; add fields to the dict."""
    extra: dict[str, object] = dict(fields)
    started = time.perf_counter()
    logger.info("%s start %s", step, _kv(fields))
    try:
        yield extra
    finally:
        extra["seconds"] = round(time.perf_counter() - started, 1)
        logger.info("%s done %s", step, _kv(extra))


def _kv(fields: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in fields.items())
