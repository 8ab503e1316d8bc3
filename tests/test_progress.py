"""Progress of long work: a redrawn bar on a terminal, one log line per step elsewhere."""

from __future__ import annotations

import io
import logging

from campaign_revenue.logs import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_one_counted_line_per_step(caplog):
    log = logging.getLogger("test.progress")
    bar = Progress("ingest", total=2, logger=log, stream=io.StringIO())
    with caplog.at_level(logging.INFO, logger="test.progress"):
        bar.advance("validated table=campaigns")
        bar.advance("wrote silver.campaigns")
        bar.advance("one too many")  # never counts past the total

    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" elapsed=")[0] for m in messages] == [
        "ingest 1/2 validated table=campaigns",
        "ingest 2/2 wrote silver.campaigns",
        "ingest 2/2 one too many",
    ]


def test_a_terminal_gets_one_bar_redrawn_in_place_and_ended_once():
    screen = Terminal()
    bar = Progress("epochs", total=4, stream=screen, width=8)
    for epoch in range(4):
        bar.advance(f"val_wape=0.{40 - epoch}")

    drawn = screen.getvalue()
    assert drawn.count("\r") == 4 and drawn.count("\n") == 1 and drawn.endswith("\n")
    frames = drawn.strip("\n").split("\r")[1:]
    assert frames[0].startswith("epochs [##......] 1/4 ")
    assert frames[-1].startswith("epochs [########] 4/4 ")
    assert "val_wape=0.37" in frames[-1]
    assert all(f.endswith("\x1b[K") for f in frames)


def test_py4j_retry_traceback_is_dropped_but_errors_are_not():
    from campaign_revenue.logs import _py4j_retry

    def record(level, msg, path):
        return logging.LogRecord("root", level, path, 1, msg, None, None)

    path = "/x/site-packages/py4j/java_gateway.py"
    assert not _py4j_retry(record(logging.INFO, "Exception while sending command.", path))
    assert _py4j_retry(record(logging.ERROR, "Exception while sending command.", path))
    assert _py4j_retry(record(logging.INFO, "ingest done", "/x/campaign_revenue/ingest.py"))
