"""Traditional Chinese cost: render + OpenCC conversion per message, and script detection.

    .venv/bin/python -m benchmarks.i18n_bench [--rounds N]

Renders real answers (every labelled question of tests/data/questions.jsonl through the answerer)
in zh, zh-hant (s2twp) and zh-hk (s2hk), and prints the median µs per message of each, the extra
cost of the conversion alone, the one-off converter load, and ``written_locale`` on a question.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bot.core.i18n import DERIVED, convert, converter, written_locale
from bot.rules.answer import respond
from bot.rules.policy import load_policy

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "questions.jsonl"
TODAY = dt.date(2026, 11, 23)


def _median_us(fn: Callable[[str], object], items: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        for item in items:
            start = time.perf_counter()
            fn(item)
            times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def main() -> int:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    for config in {c for _, c in DERIVED.values()} | {"t2s", "s2t"}:
        converter(config)
    print(f"load the four converters: {(time.perf_counter() - start) * 1000:.0f} ms (once per process)")
    policy = load_policy()
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["text"] for r in rows if r["lang"] != "en"]
    texts = [respond(policy, q, locale="zh", today=TODAY).text for q in questions]
    print(f"{len(texts)} answers, median {statistics.median(len(t) for t in texts):.0f} characters")
    for locale in ("zh", "zh-hant", "zh-hk"):
        us = _median_us(lambda q, loc=locale: respond(policy, q, locale=loc, today=TODAY), questions, args.rounds)
        print(f"answer + render {locale:8s} median {us:7.0f} µs")
    for locale in DERIVED:
        us = _median_us(lambda t, loc=locale: convert(loc, t), texts, args.rounds)
        print(f"conversion alone {locale:7s} median {us:7.1f} µs per message")
    us = _median_us(lambda q: written_locale(q, "zh", latin=True), questions, args.rounds)
    print(f"written_locale         median {us:7.1f} µs per message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
