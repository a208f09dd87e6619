"""``sdbot bench load|crash|faults|escalation``: the benchmarks in ``benchmarks/`` (a source checkout).

Every option after the benchmark's name is passed on: ``sdbot bench load --customers 200 --rate 300``;
``sdbot bench crash --help`` lists them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

BENCHES = {
    "load": "throughput and latency of the fault-report load vs a bare echo bot (--flood: Telegram limits)",
    "crash": "kill -9 the bot at random moments during the load; check nothing was lost",
    "faults": "a share of all Bot API calls fail (429, 500, timeouts); check nothing was lost",
    "escalation": "lateness of reminders and escalations for many unacknowledged tickets",
}


def cmd_bench(args: argparse.Namespace) -> int:
    """Run one benchmark module's ``main`` with the remaining arguments."""
    root = str(Path(__file__).resolve().parents[2])  # the checkout that holds benchmarks/
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(f"benchmarks.{args.bench}")
    except ModuleNotFoundError:
        print("sdbot: the benchmarks/ directory is not importable (run from a source checkout)",
              file=sys.stderr)
        return 2
    return int(module.main(args.rest) or 0)


def register(sub: Any) -> None:
    """Add the ``bench`` command."""
    p = sub.add_parser("bench", help="benchmarks and reliability runs (prints JSON)",
                       description="\n".join(f"{k}: {v}" for k, v in BENCHES.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench", choices=sorted(BENCHES))
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark (see --help)")
    p.set_defaults(func=cmd_bench)
