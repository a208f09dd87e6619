"""Free-text questions → answers from the policy: classify, extract, compute, render.

Telegram-free. ``respond`` is the whole pipeline; ``respond_intent`` finishes a question whose
missing parameter arrived in a follow-up; ``answer_in_flow`` is what the report conversation
calls for a question typed mid-flow. Every number comes from the policy through the
calculators (``bot.rules.qa_calc`` adapts them); templates live in ``templates/<locale>/answers``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from bot.core.i18n import render
from bot.roster.model import Hours
from bot.rules import qa_calc
from bot.rules.extract import DISTRICTS, date_in, zone
from bot.rules.intents import classify
from bot.rules.normalize import normalize
from bot.rules.policy import Policy
from bot.rules.qa_calc import SIZED
from bot.rules.qa_facts import PolicyGap, city_districts, complaint_rules
from bot.rules.qa_figures import figures
from bot.rules.qa_read import explain, grouped, read_line

log = logging.getLogger(__name__)

__all__ = ["Answer", "CustomerFacts", "answer_in_flow", "explain", "fill", "respond", "respond_intent"]

ACTIONS = {"human": "human", "complaint": "complaint", "report_fault": "report_fault"}
# intents that are not policy questions: mid-flow they are left to the running conversation
NOT_QUESTIONS = frozenset({"unknown", "report_fault", "human", "complaint"})
QTY_CHOICES = ("1", "5", "10", "20", "50")


AMOUNT_KEYS = frozenset({"amount", "software_amount", "hardware_amount"})
AMOUNT_LISTS = frozenset({"amount_choices"})


def _number(text: Any) -> Any:
    """"30000" → 30000, "12.5" → 12.5 (amounts are kept as exact strings until printed)."""
    from decimal import Decimal

    d = Decimal(str(text))
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass
class CustomerFacts:
    """What the answerer may know about an identified, verified customer (never otherwise)."""

    name: str
    zone: str | None = None
    contract_type: str = "none"  # annual|per_visit|none
    maintenance_paid_until: dt.date | None = None
    equipment: list[dict[str, Any]] = field(default_factory=list)  # label, kind, event, date


@dataclass
class Answer:
    """One answered (or pending) question."""

    intent: str
    params: dict[str, Any]
    clauses: list[str]
    text: str
    ask: str | None = None  # the parameter the follow-up question asks for
    choices: list[tuple[str, str]] = field(default_factory=list)  # follow-up buttons (label, value)
    action: str | None = None  # human|complaint|report_fault: the caller hands over
    figures: list[str] = field(default_factory=list)  # the amounts/dates computed (qa_figures)
    parts: list[str] = field(default_factory=list)  # intents answered, when the question had several
    footer: str = ""  # the "clauses applied" line at the end of ``text``

    @property
    def explainable(self) -> bool:
        """A computed answer: it can show the clauses it applied ("Why?")."""
        return bool(self.clauses) and self.action is None and self.ask is None

    def as_json(self) -> dict[str, Any]:
        """``sdbot ask --json`` shape."""
        params = {k: _number(v) if k in AMOUNT_KEYS else ([_number(a) for a in v] if k in AMOUNT_LISTS else v)
                  for k, v in self.params.items()}
        out = {"intent": self.intent, "params": params, "clauses": self.clauses, "answer": self.text,
               "figures": self.figures}
        if self.parts:
            out["parts"] = self.parts
        if self.ask:
            out["ask"] = self.ask
        return out


def respond(
    policy: Policy,
    text: str,
    *,
    locale: str,
    today: dt.date,
    customer: CustomerFacts | None = None,
    hours: Hours | None = None,
) -> Answer:
    """Answer a free-text question (classification, parameters, calculation, rendering).

    A question with several topics ("保修多久？上门费多少？") is answered in parts, in order.
    """
    found = classify(text, today=today)
    parts = _topics(text, found.intent, today)
    if len(parts) > 1:
        return _in_parts(policy, parts, locale=locale, today=today, customer=customer, hours=hours)
    return respond_intent(
        policy, found.intent, found.params, locale=locale, today=today, customer=customer, hours=hours
    )


_SPLIT = re.compile(
    r"[?？。;；!！\n]+|[,，]\s*(?:还有|另外|以及|顺便问一?下|再问一?下|also)"
    r"|,?\s+and (?=(?:what|how|when|who|is|are|do|does|can|will|where)\b)",
    re.IGNORECASE,
)


def _topics(text: str, whole: str, today: dt.date) -> list[Any]:
    """The classified parts of a question with two or more topics (else [])."""
    if whole in ACTIONS:
        return []  # a hand-over or a fault report takes the whole message
    pieces = [p.strip() for p in _SPLIT.split(text) if p and len(p.strip()) >= 2]
    if len(pieces) < 2:
        return []
    found = [classify(p, today=today) for p in pieces]
    asked = [f for f in found if f.intent not in NOT_QUESTIONS and qa_calc.answerable(f.intent)]
    if len({f.intent for f in asked}) < 2 or any(f.intent in ACTIONS for f in found):
        return []
    first_of_each = {f.intent: f for f in reversed(asked)}  # the first part asking each intent
    return [f for f in asked if first_of_each[f.intent] is f]


def _in_parts(policy: Policy, parts: list[Any], **kw: Any) -> Answer:
    """One answer per topic, each complete (a part that would need a follow-up answers in general)."""
    answers = []
    for part in parts:
        ans = respond_intent(policy, part.intent, part.params, **kw)
        if ans.ask is not None:
            general = qa_calc.general_params(part.intent, ans.ask, part.params)
            if general is None:
                continue
            ans = respond_intent(policy, part.intent, general, **kw)
        answers.append(ans)
    if len(answers) < 2:
        first = parts[0]
        return respond_intent(policy, first.intent, first.params, **kw)
    clauses = list(dict.fromkeys(c for a in answers for c in a.clauses))
    sep = "\n\n" + render(kw["locale"], "answers/text#part_sep") + "\n\n"
    bodies = [a.text.removesuffix(a.footer).rstrip() for a in answers]
    footer = render(kw["locale"], "answers/text#clauses", clauses=clauses)
    text = sep.join(bodies) + (f"\n\n{footer}" if footer else "")
    return Answer(answers[0].intent, answers[0].params, clauses, text, footer=footer,
                  figures=[f for a in answers for f in a.figures], parts=[a.intent for a in answers])


def respond_intent(
    policy: Policy,
    intent: str,
    params: dict[str, Any],
    *,
    locale: str,
    today: dt.date,
    customer: CustomerFacts | None = None,
    hours: Hours | None = None,
) -> Answer:
    """Answer ``intent`` with ``params`` (a follow-up question when one is missing)."""
    params = qa_calc.relevant(intent, params)
    if intent not in ACTIONS and not qa_calc.answerable(intent):
        intent = "unknown"
    if intent == "complaint":
        rules = _complaint_rules(policy, locale)
        body = render(locale, "answers/text#complaint", rules=rules["rules"])
        return Answer(intent, params, rules["clauses"], body, action="complaint")
    if intent in ACTIONS or intent == "unknown":
        body = render(locale, f"answers/text#{_block(intent)}")
        return Answer(intent, params, [], body, action=ACTIONS.get(intent))
    if intent in qa_calc.GUARDED and params.get("stray") and not params.get("general"):
        # a number in the question that no parameter took: list the prices, compute no total
        listing = respond_intent(policy, intent, {"general": True}, locale=locale, today=today,
                                 customer=customer, hours=hours)
        note = render(locale, "answers/text#unsure", numbers=params["stray"])
        return Answer(intent, params, listing.clauses, f"{note}\n\n{listing.text}", footer=listing.footer)
    missing = qa_calc.missing(intent, params, customer)
    if missing is not None:
        return _follow_up(policy, intent, params, missing, locale)
    try:
        result = qa_calc.compute(
            policy, intent, params, locale=locale, today=today, customer=customer, hours=hours
        )
    except PolicyGap as gap:  # never guess: say so and offer a person
        log.warning("policy has no value at %s for %s", gap, intent)
        return Answer(intent, params, [], render(locale, "answers/text#not_in_policy"))
    body = render(locale, f"answers/text#{_block(intent)}", r=result, p=params, today=today,
                  customer=customer)
    stated = figures(intent, result, params)
    read = read_line(intent, params, locale) if stated else ""
    footer = render(locale, "answers/text#clauses", clauses=result.get("clauses", []))
    text = "\n\n".join(t for t in (read, body, footer) if t)
    return Answer(intent, params, list(result.get("clauses", [])), text, figures=stated, footer=footer)


def _complaint_rules(policy: Policy, locale: str) -> dict[str, Any]:
    """The automatic complaint rule (empty when the policy cannot state it)."""

    try:
        return complaint_rules(policy, locale)
    except PolicyGap:
        return {"rules": [], "clauses": []}


def _block(intent: str) -> str:
    return intent.replace(".", "_")


def _follow_up(policy: Policy, intent: str, params: dict[str, Any], missing: str, locale: str) -> Answer:
    choices: list[tuple[str, str]] = []
    if missing == "zone":
        names = city_districts(policy)
        if locale == "en":
            names = tuple(k.title() for k, v in DISTRICTS.items() if v in names and k.isalpha() and k.isascii())
        districts = "/".join(names)
        choices = [
            (render(locale, f"answers/labels#zone_{z}", districts=districts), z) for z in ("city", "suburb")
        ]
    elif missing == "level":
        choices = [(render(locale, f"answers/labels#level_{lv}"), lv) for lv in ("basic", "advanced")]
    elif missing == "qty":
        choices = [(q, q) for q in QTY_CHOICES]
    elif missing == "amount":
        amounts = [str(a) for a in params.get("amount_choices") or []]
        choices = [(grouped(a), a) for a in amounts]
        text = render(locale, "answers/text#ask_amount", choices=[grouped(a) for a in amounts])
        return Answer(intent, params, [], text, ask=missing, choices=choices)
    pending = [i for i in params.get("items") or [] if missing not in i]
    pending = [i for i in pending if missing != "size" or i["item"] in SIZED]
    item = pending[0]["item"] if pending else None
    text = render(
        locale, f"answers/text#ask_{missing}", intent=intent, intent_item=item,
        item=render(locale, f"answers/labels#item_{item}") if item else "",
    )
    return Answer(intent, params, [], text, ask=missing, choices=choices)


def fill(missing: str, value: str, params: dict[str, Any], today: dt.date) -> dict[str, Any] | None:
    """``params`` completed with the follow-up reply (typed or pressed); None if it is not one."""
    text = normalize(value)
    out = {k: v for k, v in params.items()}
    if missing == "zone":
        z, district = (text, None) if text in ("city", "suburb") else zone(text)
        if z is None:
            return None
        out["zone"] = z
        if district:
            out["district"] = district
    elif missing == "level":
        level = "advanced" if re.search("高级|advanced", text) else (
            "basic" if re.search("基础|初级|basic", text) else None)
        if level is None:
            return None
        out["level"] = level
    elif missing in ("qty", "size"):
        m = re.search(r"\d{1,5}", text)
        items = [dict(i) for i in out.get("items") or []]
        todo = [i for i in items if missing not in i and (missing == "qty" or i["item"] in SIZED)]
        if not m or int(m.group(0)) <= 0 or not todo:
            return None
        todo[0][missing] = int(m.group(0))
        out["items"] = items
    elif missing == "amount":
        from bot.rules.extract import amounts

        offered = [str(a) for a in out.get("amount_choices") or []]
        found = [str(a) for a in amounts(text)] or [text.strip()]
        picked = next((a for a in found if a in offered), None)
        if picked is None:
            return None
        out["amount"] = picked
        out.pop("amount_choices", None)
    elif missing == "date":
        when = date_in(text, today)
        if when is None:
            return None
        out["date"] = when.isoformat()
    else:
        return None
    return out


def answer_in_flow(policy: Policy, text: str, *, locale: str, today: dt.date) -> str | None:
    """The rendered answer when ``text`` is a policy question, else None (not a question).

    Used in the middle of another conversation: fault descriptions, requests for a person and
    unclear text are left to that conversation; a question that would need a follow-up is
    answered in general terms instead (the conversation keeps its own step).
    """
    found = classify(text, today=today)
    if found.intent in NOT_QUESTIONS or not qa_calc.answerable(found.intent):
        return None
    if found.intent == "warranty.status":
        return None  # mid-report this is part of the fault description
    ans = respond_intent(policy, found.intent, found.params, locale=locale, today=today)
    if not ans.clauses and ans.ask is None:
        return None  # the policy could not answer it: leave the text to the conversation
    if ans.ask is not None:
        general = qa_calc.general_params(found.intent, ans.ask, found.params)
        if general is None:
            return None
        ans = respond_intent(policy, found.intent, general, locale=locale, today=today)
    return Markup(ans.text)  # rendered from our autoescaped templates: safe to embed as HTML
