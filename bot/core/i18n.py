"""Locale choice and Jinja2 rendering of every user-visible text (templates/<locale>/<name>.j2)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def pick_locale(language_code: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map a Telegram ``language_code`` (e.g. ``en-GB``, ``zh-hant``) to a supported locale."""
    if not language_code:
        return default
    code = language_code.lower()
    if code.startswith("zh"):
        return "zh"
    if code.startswith("en"):
        return "en"
    return default


def _money(value: Any) -> str:
    """Format a Decimal amount without trailing zeros (3840 → '3840', 12.5 → '12.50')."""
    from decimal import Decimal

    d = Decimal(str(value))
    if d == d.to_integral_value():
        return f"{d.quantize(Decimal(1))}"
    return f"{d.quantize(Decimal('0.01'))}"


@lru_cache(maxsize=4)
def environment(templates_dir: str = str(TEMPLATES_DIR)) -> Environment:
    """The shared Jinja2 environment (HTML autoescape for Telegram's HTML parse mode)."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["money"] = _money
    return env


def render(locale: str, name: str, /, **context: Any) -> str:
    """Render ``templates/<locale>/<name>.j2`` and strip surrounding whitespace.

    ``area/file#block`` renders one ``{% block %}`` of ``area/file.j2`` — short labels such as
    button texts live together in one file that way.
    """
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    path, _, block = name.partition("#")
    template = environment().get_template(f"{locale}/{path}.j2")
    if not block:
        return template.render(locale=locale, **context).strip()
    ctx = template.new_context({"locale": locale, **context})
    return "".join(template.blocks[block](ctx)).strip()
