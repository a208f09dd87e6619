"""The garbage collector's view of a long-running process.

Hand-written because it is two calls of the standard library's ``gc``; what it needs is the reason:
a full (third-generation) collection walks every tracked object. Once ``sdbot run`` is up, that is
~150,000 objects (modules, SQLAlchemy's mappers and compiled statements, python-telegram-bot's
classes, the templates), and on this project's 2-core box each such collection stopped the event
loop for 90–130 ms, twice in a one-minute load at 40 updates/s: the slowest replies of the run.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Collect once, then move every surviving object into the permanent generation
    (``gc.freeze``), so later full collections walk only what was made after start-up.

    Call it once the process is up; returns the number of objects frozen. Frozen objects are still
    freed by reference counting; only their cycles are no longer looked for, which is right for
    what start-up builds to keep."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
