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


def _py4j_retry(record: logging.LogRecord) -> bool:
    """Drop py4j's INFO traceback for a connection it then retries.

    When Ray starts its local processes, a pooled py4j connection to the
    Spark JVM can be reset; py4j logs the reset with a full traceback on the
    root logger (so its own logger's level cannot quiet it) at INFO and sends
    the command again on a new connection. A failed retry is still logged, at
    ERROR.
    """
    return not (
        record.levelno == logging.INFO
        and record.getMessage() == "Exception while sending command."
        and "py4j" in record.pathname
    )


def setup_logging(level: str = "INFO") -> None:
    """Send the package's logs to stderr; quiet the chatty libraries."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_py4j_retry)
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


class Progress:
    """Counted progress of long work: a redrawn bar on a terminal, log lines elsewhere.

    Scheduled jobs (spark-submit, Databricks) write to files, where a redrawn
    bar is noise: there each step is one log line ``label 3/10 detail``.

    Example:
        >>> bar = Progress("epochs", total=3, stream=None)
        >>> bar.advance("val_wape=0.41")
    """

    def __init__(
        self,
        label: str,
        total: int,
        logger: logging.Logger | None = None,
        stream=None,
        width: int = 24,
    ) -> None:
        self.label = label
        self.total = max(int(total), 1)
        self.done_steps = 0
        self.width = width
        self.logger = logger or logging.getLogger("campaign_revenue.progress")
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, detail: str = "", steps: int = 1) -> None:
        """Count ``steps`` more as done and show ``detail`` beside the count."""
        self.done_steps = min(self.done_steps + steps, self.total)
        elapsed = time.perf_counter() - self.started
        count = f"{self.done_steps}/{self.total}"
        if self._tty:
            filled = round(self.width * self.done_steps / self.total)
            bar = "#" * filled + "." * (self.width - filled)
            end = "\n" if self.done_steps == self.total else ""
            self.stream.write(
                f"\r{self.label} [{bar}] {count} {elapsed:.0f}s {detail}".rstrip()
                + "\x1b[K"  # clear what a longer previous line left
                + end
            )
            self.stream.flush()
        else:
            self.logger.info("%s %s %s elapsed=%.1f", self.label, count, detail, elapsed)
