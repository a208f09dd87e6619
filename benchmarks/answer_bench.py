"""Answerer benchmark: intent accuracy and numeric answers on the labelled sets, answer time.

    .venv/bin/python -m benchmarks.answer_bench [--rounds N] [--sets NAME …] [--misses]

Times the whole pipeline a chat message goes through (normalise, classify, extract, calculate,
render the template) with the shipped policy, one question at a time, after one warm-up pass.
Prints, per set, intent accuracy per language group (zh, zh-hant, en) and, for the questions with
a hand-computed ``expect`` (amount or date; ``null`` where the right answer states no figure
because it must ask or cannot compute), how many answers state it (*correct*), state no
figure (*no number*: a follow-up question, a listing or a hand-over) or state other figures
(*wrong number*, the one that must stay 0). Then p50/p99/max milliseconds (target p99 ≤ 5 ms).
``--misses`` lists every miss. The history of these figures is in docs/answer_accuracy.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path

from bot.rules.answer import respond
from bot.rules.policy import load_policy
from bot.rules.qa_figures import plain

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = (
    "questions_fresh.jsonl", "questions_fresh2.jsonl", "questions_fresh3.jsonl", "questions_fresh4.jsonl", "questions.jsonl", "questions_holdout.jsonl", "questions_holdout2.jsonl",
    "questions_holdout3.jsonl", "questions_holdout4.jsonl",
)
LANGS = ("zh", "zh-hant", "en")
TODAY = dt.date(2026, 11, 23)


def rows_of(name: str) -> list[dict]:
    """The labelled questions of one set (JSON lines)."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def locale_of(row: dict) -> str:
    return "en" if row["lang"] == "en" else "zh"


def _percentile(sorted_ms: list[float], pct: float) -> float:
    index = min(len(sorted_ms) - 1, max(0, round(pct / 100 * len(sorted_ms) + 0.5) - 1))
    return sorted_ms[index]


def score(policy: object, rows: list[dict]) -> tuple[dict, list[str]]:
    """Counts for one set: intent per language, numeric correct/none/wrong; and the misses."""
    counts: dict = {"intent": defaultdict(lambda: [0, 0]), "correct": 0, "none": 0, "wrong": 0}
    misses: list[str] = []
    for r in rows:
        ans = respond(policy, r["text"], locale=locale_of(r), today=TODAY)
        ok = ans.intent == r["intent"]
        for key in (r["lang"], "all"):
            counts["intent"][key][0] += int(ok)
            counts["intent"][key][1] += 1
        if not ok:
            misses.append(f"intent  {r['lang']:7} {r['text']!r}: want {r['intent']}, got {ans.intent}")
        if "expect" in r and r["expect"] is None:  # the right answer states no figure (asks, or lists)
            if ans.figures:
                counts["wrong"] += 1
                misses.append(f"WRONG   {r['lang']:7} {r['text']!r}: want no figure, said {ans.figures}")
            else:
                counts["correct"] += 1
        elif "expect" in r:
            want = plain(r["expect"])
            if want in ans.figures:
                counts["correct"] += 1
            elif not ans.figures:
                counts["none"] += 1
                misses.append(f"no num  {r['lang']:7} {r['text']!r}: want {want} ({ans.intent}, ask={ans.ask})")
            else:
                counts["wrong"] += 1
                misses.append(f"WRONG   {r['lang']:7} {r['text']!r}: want {want}, said {ans.figures}")
    return counts, misses


def report(name: str, counts: dict) -> str:
    """One line per set: intent accuracy per language group and the numeric outcome."""
    parts = []
    for key in (*LANGS, "all"):
        good, total = counts["intent"].get(key, (0, 0))
        if total:
            parts.append(f"{key} {good}/{total} {good / total:.1%}")
    numeric = counts["correct"] + counts["none"] + counts["wrong"]
    num = (f" | numeric {numeric}: correct {counts['correct']}, no number {counts['none']}, "
           f"wrong number {counts['wrong']}") if numeric else ""
    return f"{name:28} intent: " + ", ".join(parts) + num


def main() -> int:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the sets")
    parser.add_argument("--sets", nargs="*", default=list(SETS), help="set files under tests/data")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()
    policy = load_policy()
    sets = {name: rows_of(name) for name in args.sets}
    total: dict = {"intent": defaultdict(lambda: [0, 0]), "correct": 0, "none": 0, "wrong": 0}
    for name, rows in sets.items():
        counts, misses = score(policy, rows)
        print(report(name, counts))
        if args.misses:
            for m in misses:
                print("   ", m)
        for key, (good, n) in counts["intent"].items():
            total["intent"][key][0] += good
            total["intent"][key][1] += n
        for key in ("correct", "none", "wrong"):
            total[key] += counts[key]
    print(report("all sets", total))
    flat = [r for rows in sets.values() for r in rows]
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(args.rounds):
        for r in flat:
            start, start_cpu = time.perf_counter(), time.process_time()
            respond(policy, r["text"], locale=locale_of(r), today=TODAY)
            cpu.append((time.process_time() - start_cpu) * 1000)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    cpu.sort()
    print(
        f"answer time over {len(times)} answers (warm): p50 {_percentile(times, 50):.3f} ms, "
        f"p99 {_percentile(times, 99):.3f} ms, max {times[-1]:.3f} ms, "
        f"mean {statistics.fmean(times):.3f} ms (target p99 <= 5 ms); "
        f"CPU time p50 {_percentile(cpu, 50):.3f} ms, p99 {_percentile(cpu, 99):.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
