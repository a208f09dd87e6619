"""``sdbot ask "<question>" [--lang zh|en] [--customer NO] [--on YYYY-MM-DD] [--json] [--batch FILE]``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from typing import Any

from bot.config import desk_today

_CJK = re.compile(r"[\u3400-\u9fff]")


def register(sub: Any) -> None:
    """Add ``sdbot ask`` to the parser."""
    p = sub.add_parser("ask", help="answer a customer question from the policy")
    p.add_argument("question", nargs="?", help="the question (omit with --batch)")
    p.add_argument("--lang", choices=("zh", "en"), help="answer language (default: the question's)")
    p.add_argument("--customer", metavar="NO", help="answer as this customer (registered equipment)")
    p.add_argument("--on", metavar="YYYY-MM-DD", help="the date to answer for (default: today)")
    p.add_argument("--json", action="store_true", help="print {intent, params, clauses, answer}")
    p.add_argument("--batch", metavar="FILE", help="one question per line ('-' = stdin)")
    p.add_argument("--explain", action="store_true", help="also print the clauses applied (the 'Why?' button)")
    p.set_defaults(func=cmd_ask)


def _fail(message: str) -> int:
    print(f"sdbot ask: {message}", file=sys.stderr)
    return 2


def _locale(text: str, wanted: str | None) -> str:
    if wanted:
        return wanted
    return "zh" if _CJK.search(text) or not re.search(r"[A-Za-z]", text) else "en"


def _questions(args: argparse.Namespace) -> list[str] | None:
    if args.batch is None:
        return [args.question] if args.question and args.question.strip() else None
    if args.question:
        return None
    if args.batch == "-":
        lines = sys.stdin.read().splitlines()
    else:
        with open(args.batch, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    return [line for line in lines if line.strip()]


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question (or a batch) and print the answer(s); bad arguments → exit 2."""
    from bot.rules.answer import explain, respond
    from bot.rules.policy import PolicyError

    today = desk_today()
    if args.on:
        try:
            today = dt.date.fromisoformat(args.on)
        except ValueError:
            return _fail(f"--on: not a date (YYYY-MM-DD): {args.on!r}")
    try:
        questions = _questions(args)
    except OSError as exc:
        return _fail(f"--batch: cannot read {args.batch}: {exc.strerror}")
    if questions is None:
        return _fail("give one question, or --batch FILE (not both)")
    try:
        policy, hours = _policy_and_hours()
    except PolicyError as exc:
        return _fail(str(exc))
    customer = None
    if args.customer:
        customer = _customer(args.customer)
        if customer is None:
            return _fail(f"--customer: no customer numbered {args.customer!r}")
    for question in questions:
        ans = respond(policy, question, locale=_locale(question, args.lang), today=today,
                      customer=customer, hours=hours)
        locale = _locale(question, args.lang)
        why = explain(policy, ans.clauses, locale) if args.explain else None
        if args.json or args.batch is not None:
            out = ans.as_json() | ({"explain": _plain(why)} if why is not None else {})
            print(json.dumps(out, ensure_ascii=False, default=str), flush=True)
        else:
            print(_plain(ans.text) + (f"\n\n{_plain(why)}" if why is not None else ""))
    return 0


def _plain(html: str) -> str:
    """The answer without Telegram HTML tags (for a terminal)."""
    import html as html_mod

    return html_mod.unescape(re.sub(r"<[^>]+>", "", html))


def _policy_and_hours() -> tuple[Any, Any]:
    """The configured policy file and the roster's service hours."""
    from bot.cli.common import settings_or_exit
    from bot.desk import load_desk_policy, load_desk_roster

    settings = settings_or_exit()
    policy = load_desk_policy(settings)
    try:
        hours = load_desk_roster(settings).hours
    except Exception:  # the roster only adds service hours; a policy answer must not fail on it
        hours = None
    return policy, hours


def _customer(number: str) -> Any:
    """Facts of a registered customer, from the configured database (None when unknown)."""
    from bot.cli.common import in_session
    from bot.config import load_settings
    from bot.rules.customer_facts import customer_by_number, facts_of

    async def go(s: Any) -> Any:
        customer = await customer_by_number(s, number)
        return None if customer is None else await facts_of(s, customer)

    try:
        return in_session(load_settings().database_url, go, write=False)
    except Exception as exc:  # no database / no schema: the customer cannot be found
        print(f"sdbot ask: --customer: cannot read the database: {exc.__class__.__name__}", file=sys.stderr)
        return None
