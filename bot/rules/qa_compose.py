"""Per-intent answer contexts computed with the policy calculators (every number from the policy).

Each builder takes ``(policy, params, *, today, customer, hours)`` and returns the context of the
intent's template block plus ``clauses``: the clause ids applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Builder = Callable[..., dict[str, Any]]
BUILDERS: dict[str, Builder] = {}
