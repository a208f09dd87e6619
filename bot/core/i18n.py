"""Locale choice and Jinja2 rendering of every user-visible text (templates/<locale>/<name>.j2).

Output locales: ``zh`` (Simplified, the default), ``en``, and two Traditional ones derived from
the zh templates — ``zh-hant`` (Taiwan wording, OpenCC ``s2twp``) and ``zh-hk`` (Hong Kong,
OpenCC ``s2hk``). A Traditional text is the zh rendering converted as a whole, so the zh
templates stay the only Chinese source and values from the policy file come out converted too.

OpenCC is the ``opencc`` package (the C++ library's own binding, manylinux wheels): a message
(median answer, 112 characters) converts in ~8–17 µs, against ~2 ms with the pure-Python
``opencc-python-reimplemented``, so converted texts are not cached; each converter (~130 ms to
load its dictionaries) is built once per process, on first use (benchmarks/i18n_bench.py).
"""

from __future__ import annotations

import json
import re
import tempfile
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

TEMPLATE_LOCALES = ("zh", "en")  # the folders under templates/
DERIVED = {"zh-hant": ("zh", "s2twp"), "zh-hk": ("zh", "s2hk")}  # locale → (template locale, OpenCC config)
LOCALES = ("zh", "zh-hant", "zh-hk", "en")
TRADITIONAL = frozenset(DERIVED)
CHINESE = frozenset({"zh", *TRADITIONAL})
DEFAULT_LOCALE = "zh"
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3}")


def pick_locale(language_code: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map a Telegram ``language_code`` (``en-GB``, ``zh-hans``, ``zh-TW``, ``zh-hant-HK``…) to a locale."""
    if not language_code:
        return default
    parts = language_code.lower().replace("_", "-").split("-")
    if parts[0] == "zh":
        if {"hk", "mo"} & set(parts[1:]):
            return "zh-hk"
        if {"hant", "tw"} & set(parts[1:]):
            return "zh-hant"
        return "zh"
    if parts[0] == "en":
        return "en"
    return default


def template_locale(locale: str) -> str:
    """The templates folder a locale renders from (``zh-hant`` → ``zh``)."""
    if locale in DERIVED:
        return DERIVED[locale][0]
    return locale if locale in TEMPLATE_LOCALES else DEFAULT_LOCALE


@cache
def converter(config: str) -> Any:
    """One OpenCC converter per config (``s2twp``, ``s2hk``, ``t2s``, ``s2t``), built on first use."""
    import opencc

    return opencc.OpenCC(config)


def convert(locale: str, text: str) -> str:
    """``text`` (Simplified) in ``locale``'s script; unchanged for zh and en."""
    if locale not in DERIVED or not _CJK.search(text):
        return text
    return str(converter(DERIVED[locale][1]).convert(text))


def simplified(text: str) -> str:
    """``text`` in Simplified script, for matching written words against the Simplified patterns."""
    return converter("t2s").convert(text) if _CJK.search(text) else text


# Character-level chains for telling Simplified from Traditional (``written_locale``): the phrase
# dictionaries of ``s2t`` and ``s2hk`` (STPhrases) are ~40 MB resident, these ~1 MB.
_CHAR_CHAINS = {"s2t": ("STCharacters.ocd2",), "s2hk": ("STCharacters.ocd2", "HKVariants.ocd2")}


@cache
def char_converter(config: str) -> Any:
    """``config`` (``s2t``, ``s2hk``) character by character, without its phrase dictionaries; the
    full converter when the ``opencc`` package keeps its dictionaries elsewhere."""
    import opencc

    share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    files = [share / name for name in ("CJK_Compatibility_Ideographs.ocd2", *_CHAR_CHAINS[config])]
    if not all(f.is_file() for f in files):
        return converter(config)
    dicts = [{"type": "ocd2", "file": str(f)} for f in files]
    spec = {"name": f"{config} by character", "normalization": [{"dict": dicts[0]}],
            "segmentation": {"type": "mmseg", "dict": dicts[1]},
            "conversion_chain": [{"dict": d} for d in dicts[1:]]}
    with tempfile.TemporaryDirectory() as tmp:  # OpenCC reads a config from a file, once
        path = Path(tmp) / f"{config}-char.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        return opencc.OpenCC(str(path))


def _changed(text: str, conv: Any) -> int:
    out = conv.convert(text)
    return sum(a != b for a, b in zip(text, out, strict=False))


def written_locale(text: str, current: str, *, latin: bool = False) -> str:
    """The locale ``text`` is written in, else ``current``.

    Traditional is told by characters that OpenCC ``t2s`` changes, Simplified by those that both
    ``s2t`` and ``s2hk`` change character by character (台 and 臺 are both Traditional), whichever are more; Chinese without either keeps a Chinese ``current``. With
    ``latin``, a text with a Latin word and no Chinese means English (questions, not names or
    model numbers typed into a form).
    """
    if _CJK.search(text):
        traditional = _changed(text, converter("t2s"))
        simplified = min(_changed(text, char_converter("s2t")), _changed(text, char_converter("s2hk")))
        if traditional > simplified:
            return current if current in TRADITIONAL else "zh-hant"
        if simplified > traditional:
            return "zh"
        return current if current in CHINESE else "zh"
    if latin and _LATIN_WORD.search(text):
        return "en"
    return current


def _money(value: Any) -> str:
    """Format a Decimal amount without trailing zeros (3840 → '3840', 12.5 → '12.50')."""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return f"{d.quantize(Decimal(1))}"
    return f"{d.quantize(Decimal('0.01'))}"


LABELS = {  # code_label("<kind>", code) → the block that names the code
    "status": "tickets/labels#status_",
    "category": "report/labels#category_",
    "severity": "report/labels#severity_",
    "role": "common/labels#role_",
    "author": "common/labels#author_",
}


@pass_context
def _code_label(ctx: Context, kind: str, code: Any) -> str:
    """A status, category, severity, role or history author's code in the template's language.

    A code without a label comes out as itself (for an author: a staff name, already a word);
    tests/core/test_i18n_coverage.py renders every known code, so none of them is shown raw.
    """
    name = f"{LABELS[kind]}{code}"
    path, _, block = name.partition("#")
    folder = (ctx.name or "").split("/", 1)[0]  # the calling template's own folder (macros have no context)
    if folder not in TEMPLATE_LOCALES:
        folder = template_locale(ctx.get("locale", DEFAULT_LOCALE))
    template = ctx.environment.get_template(f"{folder}/{path}.j2")
    if block not in template.blocks:
        return str(code if code is not None else "")
    return "".join(template.blocks[block](template.new_context({}))).strip()


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
    env.globals["code_label"] = _code_label
    return env


def render(locale: str, name: str, /, **context: Any) -> str:
    """Render ``templates/<locale>/<name>.j2`` and strip surrounding whitespace.

    ``area/file#block`` renders one ``{% block %}`` of ``area/file.j2`` — short labels such as
    button texts live together in one file that way. A Traditional locale renders the zh
    template and converts the result.
    """
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    folder = template_locale(locale)
    path, _, block = name.partition("#")
    template = environment().get_template(f"{folder}/{path}.j2")
    if not block:
        text = template.render(locale=locale, **context).strip()
    else:
        ctx = template.new_context({"locale": locale, **context})
        text = "".join(template.blocks[block](ctx)).strip()
    return convert(locale, text)
