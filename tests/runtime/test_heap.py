"""``settle_heap``: start-up garbage is collected first, what survives is frozen."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.runtime.heap import settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the suite keeps a normal collector


def test_collects_cycles_then_freezes_survivors(unfrozen: None) -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    dead = weakref.ref(a)
    kept = _Node()
    del a, b
    frozen = settle_heap()
    assert dead() is None  # collected before the freeze, not kept for good
    assert frozen == gc.get_freeze_count() > 0
    assert any(o is kept for o in gc.get_objects()) is False  # frozen objects leave the generations
