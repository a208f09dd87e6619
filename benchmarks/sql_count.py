"""``sdbot run`` with every SQL statement counted (benchmark-only; the bot itself never loads this).

    python -m benchmarks.sql_count [sdbot arguments, default: run]

A SQLAlchemy event listener on every engine counts executed statements by their first keyword
(SELECT, INSERT, UPDATE, BEGIN …) and commits. On SIGUSR1 the counts so far are written as JSON
to ``$SQL_COUNT_FILE``; the load benchmark (``--count-sql``) reads them at the start and the end
of the load and reports statements per update.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

counts: Counter[str] = Counter()


@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
    counts[statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"] += 1


@event.listens_for(Engine, "commit")
def _commit(conn: Any) -> None:
    counts["COMMIT"] += 1


def _dump(signum: int, frame: FrameType | None) -> None:
    target = Path(os.environ["SQL_COUNT_FILE"])
    part = target.with_suffix(".part")
    part.write_text(json.dumps(counts))
    part.replace(target)  # the reader never sees half a file


def main() -> None:
    """Install the SIGUSR1 dump, then run ``python -m bot`` with the remaining arguments."""
    signal.signal(signal.SIGUSR1, _dump)
    sys.argv = ["bot", *(sys.argv[1:] or ["run"])]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
