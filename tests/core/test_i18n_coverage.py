"""Every template block in every locale: no English words or raw codes in Chinese, no Chinese in English.

Each block is rendered with a probe context: every variable, attribute, item and call result is
a :class:`Probe` — a string that also works as a number, a date, a list or a mapping. Values read
from the domain under a code's name (``t.status``, ``e.actor``, ``s.role``…) are real codes
(``in_progress``, ``system``, ``admin``…), so a template that prints a code instead of its label
shows it, and the test fails on it. Each block renders once as is, once per ``x == "literal"`` test
it holds (that branch taken), and once with every optional value empty (the ``else`` and ``or``
sides) — 610 renderings per locale.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from jinja2 import UndefinedError, meta, nodes

from bot.core.i18n import LABELS, LOCALES, TEMPLATES_DIR, environment, render, template_locale
from bot.core.roles import Role
from bot.customers.registry_io import CATEGORIES
from bot.tickets import lifecycle as tickets

NUMBER = "7"
# a domain attribute under one of these names holds a code; the template must print its label
ATTR_CODES = {
    "status": "in_progress", "from_status": "dispatched", "to_status": "resolved",
    "category": "other", "role": "admin", "actor": "system", "severity": "partial",
}
TOP_CODES = {"role": "supervisor"}  # top-level variables that handlers pass as codes
# blocks that look a code up in a literal mapping: a probe must be one of its keys
BLOCK_VALUES = {
    "dispatch/text#sla_breach": {"kind": "onsite"},
    "report/text#submitted": {"warranty": "repair"},
    "roster/text#calendar": {"kind": "workday"},
    "dispatch/text#complaint_alert": {"why": "explicit"},
}
_values: dict[str, str] = dict(ATTR_CODES)  # what a probe's attribute holds, for the block being rendered
_default = [NUMBER]  # what any other probe holds: NUMBER, or "" for the pass where everything is empty
ROLES = tuple(r.value for r in Role)
CODES = {*tickets.STATES, *CATEGORIES, *ROLES, "system", "staff", "down", "partial", "question"}

# Latin words a Chinese text may hold: product names, standards, units, placeholders, commands
ALLOWED = {
    "SD", "SLA", "NVR", "DVR", "IPC", "PBX", "POS", "PDF", "CSV", "XLSX", "Excel", "ID", "IP",
    "PoE", "Wi", "Fi", "WiFi", "LAN", "WAN", "SIM", "UPS", "HDD", "SSD", "USB", "APP", "App",
    "CNY", "RMB", "VIP", "Telegram", "W", "KEY", "OK", "AI", "QR", "https", "http", "www",
    "UTC", "GMT", "CCTV", "AP", "PC", "TB", "GB", "MB", "km", "kg", "h", "min", "No", "UTF",
    "English",  # a language's own name, on /lang's line of /help
}
# blocks that are deliberately bilingual or quote what must be typed as-is
BILINGUAL = {"common/lang_prompt"}
COMMAND_SYNTAX = {"admin/text#staff_usage", "admin/text#staff_error", "roster/text#cover_usage", "roster/text#swap_usage",
                  "calendar/text#usage", "calendar/text#list", "calendar/text#reminder",
                  "calendar/text#bad_kind", "dispatch/text#assign_usage"}  # they quote /calendar add … workday|off: the words to type
BLOCK_WORDS = {"supervisor/text#export_csv_caption": {"events"}}  # the XLSX sheet's name
LANGUAGE_NAMES = ("简体中文", "繁體中文", "中文")  # may stand in English text, on /lang's line

_LATIN = re.compile(r"[A-Za-z][A-Za-z_]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


class Probe(str):
    """A stand-in for any context value (see the module docstring)."""

    def __new__(cls, name: str = "", value: str | None = None) -> Probe:
        value = _default[0] if value is None else value
        obj = super().__new__(cls, value)
        obj._name = name  # type: ignore[attr-defined]
        return obj

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_"):
            return super().__getattribute__(name)
        return Probe(name, _values.get(name))

    def __call__(self, *args: Any, **kwargs: Any) -> Probe:
        return Probe(self._name)  # type: ignore[attr-defined]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self
        if isinstance(key, str):
            return Probe(key, _values.get(key))
        return Probe()

    def __iter__(self) -> Iterator[Probe]:
        return iter((Probe(), Probe()) if str.__len__(self) else ())

    def __len__(self) -> int:
        return 2 if str.__len__(self) else 0

    def _num(self) -> int:
        return int(str.__str__(self)) if str.__str__(self).isdecimal() else 0

    def __int__(self) -> int:
        return self._num()

    def __index__(self) -> int:
        return 3

    def __float__(self) -> float:
        return float(self._num())

    def __round__(self, n: int | None = None) -> int:
        return self._num()

    def __format__(self, spec: str) -> str:
        return format(self._num(), spec) if spec and spec[-1] in "dfeg%x" else str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __hash__(self) -> int:
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other) if isinstance(other, str) else self._num() == other

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def _cmp(self, other: Any) -> tuple[Any, Any]:
        if isinstance(other, int | float) and not isinstance(other, bool):
            return self._num(), other
        return str.__str__(self), str(other)

    def __lt__(self, other: Any) -> bool:
        a, b = self._cmp(other)
        return a < b

    def __le__(self, other: Any) -> bool:
        a, b = self._cmp(other)
        return a <= b

    def __gt__(self, other: Any) -> bool:
        a, b = self._cmp(other)
        return a > b

    def __ge__(self, other: Any) -> bool:
        a, b = self._cmp(other)
        return a >= b

    def __add__(self, other: Any) -> Any:  # type: ignore[override]
        return str.__add__(self, other) if isinstance(other, str) else self._num() + other

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, list):  # ``[...] + items``: the probe stands for a list of one
            return [*other, self]
        return other + str.__str__(self) if isinstance(other, str) else other + self._num()

    def __sub__(self, other: Any) -> Any:
        return self._num() - other

    def __rsub__(self, other: Any) -> Any:
        return other - self._num()

    def __mul__(self, other: Any) -> Any:  # type: ignore[override]
        return self._num() * other

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        return self._num() / other

    def __floordiv__(self, other: Any) -> Any:
        return self._num() // other

    def __mod__(self, other: Any) -> Any:  # type: ignore[override]
        return self._num() % other

    def __rmod__(self, other: Any) -> Any:
        return other % self._num() if not isinstance(other, str) else other % (self._num(),)

    def __neg__(self) -> int:
        return -self._num()


def _blocks() -> list[tuple[str, str]]:
    """(template name for render, file) for every block of every zh template (en mirrors zh)."""
    out = []
    env = environment()
    for path in sorted((TEMPLATES_DIR / "zh").rglob("*.j2")):
        rel = path.relative_to(TEMPLATES_DIR / "zh").with_suffix("").as_posix()
        if rel.rsplit("/", 1)[-1].startswith("_"):
            continue  # macro files render through the templates that import them
        template = env.get_template(f"zh/{rel}.j2")
        names = [f"{rel}#{b}" for b in template.blocks] or [rel]
        out.extend((name, rel) for name in names)
    return out


def _ast(rel: str, locale: str) -> nodes.Template:
    return _parsed(f"{template_locale(locale)}/{rel}.j2")


@cache
def _parsed(path: str) -> nodes.Template:
    env = environment()
    return env.parse(env.loader.get_source(env, path)[0])  # type: ignore[union-attr]


def _branches(name: str, rel: str, locale: str) -> list[dict[str, str]]:
    """One set of values per ``x == "literal"`` test in the block, so that each branch renders."""
    tree = _ast(rel, locale)
    block = name.partition("#")[2]
    scope = next((b for b in tree.find_all(nodes.Block) if b.name == block), tree) if block else tree
    out = [{}]
    for cmp in scope.find_all(nodes.Compare):
        if len(cmp.ops) != 1 or cmp.ops[0].op != "eq" or not isinstance(cmp.ops[0].expr, nodes.Const):
            continue
        value = cmp.ops[0].expr.value
        if isinstance(value, str) and isinstance(cmp.expr, nodes.Name | nodes.Getattr):
            key = cmp.expr.name if isinstance(cmp.expr, nodes.Name) else cmp.expr.attr
            out.append({key: value})
    return out


@cache
def _names(rel: str, locale: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(_ast(rel, locale)) - {"locale"})


def _context(name: str, rel: str, locale: str, branch: dict[str, str] | None = None) -> dict[str, Any]:
    _values.clear()
    _values.update({**ATTR_CODES, **BLOCK_VALUES.get(name, {}), **(branch or {})})
    names = _names(rel, locale)
    return {n: Probe(n, _values.get(n, TOP_CODES.get(n))) for n in names}


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"/[a-z_]+", " ", text)  # commands
    return re.sub(r"\bSD-\d{4}-\d+\b", " ", text)


def english_words(text: str) -> list[str]:
    return [w for w in _LATIN.findall(_plain(text)) if w not in ALLOWED]


BLOCKS = _blocks()


def test_the_en_and_zh_templates_have_the_same_blocks() -> None:
    env = environment()
    for path in sorted((TEMPLATES_DIR / "zh").rglob("*.j2")):
        rel = path.relative_to(TEMPLATES_DIR / "zh").as_posix()
        zh, en = env.get_template(f"zh/{rel}"), env.get_template(f"en/{rel}")
        assert set(zh.blocks) == set(en.blocks), rel


def _renderings(locale: str) -> Iterator[tuple[str, str, str]]:
    for name, rel in BLOCKS:
        base, *branches = _branches(name, rel, locale)
        yield name, rel, render(locale, name, **_context(name, rel, locale, base))
        for branch in branches:
            try:
                text = render(locale, name, **_context(name, rel, locale, branch))
            except UndefinedError:  # the value steers another lookup of the block off its keys
                continue
            yield name, rel, text
        _default[0] = ""  # every optional value missing: the "else" and "or" sides render
        try:
            text = render(locale, name, **_context(name, rel, locale, base))
        except Exception:  # noqa: BLE001 - a value the block needs (an amount, a key) is missing: skip this pass
            continue
        finally:
            _default[0] = NUMBER
        yield name, rel, text


@pytest.mark.parametrize("locale", LOCALES)
def test_every_block_renders_in_its_language(locale: str) -> None:
    problems = []
    for name, rel, text in _renderings(locale):
        if locale == "en":
            if _CJK.search(re.sub("|".join(LANGUAGE_NAMES), "", text)) and rel not in BILINGUAL:
                problems.append((name, "Chinese in English", text))
            if re.search(r"[a-z][.!?][A-Z]", _plain(text)):
                problems.append((name, "sentences run together", text))
            continue
        if rel in BILINGUAL or name in COMMAND_SYNTAX:
            continue
        words = [w for w in english_words(text) if w not in BLOCK_WORDS.get(name, ())]
        raw = [w for w in words if w in CODES]
        if raw:
            problems.append((name, f"raw codes {raw}", text))
        elif words:
            problems.append((name, f"English words {words}", text))
    assert not problems, "\n\n".join(f"{n} [{why}]:\n{t}" for n, why, t in problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_known_code_has_a_label(locale: str) -> None:
    codes = {
        "status": tickets.STATES, "category": CATEGORIES, "severity": ("down", "partial", "question"),
        "role": ROLES, "author": ("customer", "staff", "system"),
    }
    assert set(codes) == set(LABELS)
    env = environment()
    for kind, values in codes.items():
        for code in values:
            text = env.from_string("{{ code_label(kind, code) }}").render(locale=locale, kind=kind, code=code)
            assert text and text != code or locale == "en", (kind, code, locale)
            if locale != "en":
                assert not english_words(text), (kind, code, text)


def test_traditional_is_converted_from_the_simplified_templates() -> None:
    zh = render("zh", "answers/text#unknown")
    tw, hk = render("zh-hant", "answers/text#unknown"), render("zh-hk", "answers/text#unknown")
    assert "这个问题" in zh and "這個問題" in tw and "這個問題" in hk
    assert render("zh-hant", "common/lang_set", language="繁體中文") == "語言已切換為繁體中文。"
