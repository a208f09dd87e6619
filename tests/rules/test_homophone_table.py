"""The shipped homophone table is exactly what pypinyin gives for today's key terms."""

from __future__ import annotations

from bot.rules.homophones import KEY_TERMS, sound
from tests.rules.homophone_table_gen import SHIPPED, source, syllable


def test_shipped_table_is_the_generated_one() -> None:
    """When key terms change, regenerate it: ``python -m tests.rules.homophone_table_gen``."""
    assert SHIPPED.read_text(encoding="utf-8") == source()


def test_key_terms_sound_as_pypinyin_reads_them() -> None:
    for term in KEY_TERMS:
        assert sound(term) == tuple(syllable(ch) for ch in term)
