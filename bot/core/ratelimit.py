"""Per-user flood limit: a sliding window of message times, kept in memory per instance.

A user sending more than ``limit`` messages within ``window`` seconds is answered once with a
"slow down" notice and the rest of the flood is ignored until the window has room again. Each
instance counts what it receives, so behind a load balancer of N instances a flood is cut off
at no more than N × ``limit`` messages per window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SERVE, WARN, DROP = "serve", "warn", "drop"
MAX_TRACKED_USERS = 50_000


@dataclass
class _Bucket:
    times: deque[float] = field(default_factory=deque)
    warned_at: float | None = None


class FloodLimiter:
    """Decides, per message, whether to serve it, warn once, or drop it."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._buckets: dict[int, _Bucket] = {}
        self.dropped = 0

    def check(self, user_id: int, now: float) -> str:
        """Record one message of ``user_id`` at ``now`` (seconds); SERVE, WARN or DROP."""
        bucket = self._buckets.setdefault(user_id, _Bucket())
        if bucket.times and now < bucket.times[-1]:  # the clock was set back: start afresh
            bucket.times.clear()
            bucket.warned_at = None
        while bucket.times and bucket.times[0] <= now - self.window:
            bucket.times.popleft()
        if len(bucket.times) < self.limit:
            bucket.times.append(now)
            self._prune(now)
            return SERVE
        self.dropped += 1
        if bucket.warned_at is None or bucket.warned_at <= now - self.window:
            bucket.warned_at = now
            return WARN
        return DROP

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= MAX_TRACKED_USERS:
            return
        stale = [u for u, b in self._buckets.items() if not b.times or b.times[-1] <= now - self.window]
        for user_id in stale:
            del self._buckets[user_id]
