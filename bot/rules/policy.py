"""Loading and validating the policy file (TOML) into typed, read-only objects."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_POLICY = Path(str(resources.files("bot.rules").joinpath("default_policy.toml")))


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message names the file, key and problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dispatch(_Section):
    """Dispatch and escalation timing."""

    ack_timeout_minutes: int


class Scores(_Section):
    """Satisfaction score of each rating (policy §5)."""

    very_satisfied: int
    satisfied: int
    average: int
    no_opinion: int
    dissatisfied: int


class Satisfaction(_Section):
    """Rating requests and their scores."""

    no_answer_days: int
    scores: Scores


class Escalation(_Section):
    """The acknowledgement chain: after each ack timeout one step (issue 5, policy §4)."""

    reminders: int = Field(default=1, ge=0, le=5)
    next_engineers: int = Field(default=1, ge=0, le=5)


class SlaWatch(_Section):
    """When a missed first-response / on-site / fix due time alerts the supervisors."""

    grace_minutes: int = Field(default=0, ge=0, le=1440)


class Policy(_Section):
    """The whole policy file."""

    dispatch: Dispatch
    satisfaction: Satisfaction
    escalation: Escalation = Escalation()
    sla_watch: SlaWatch = SlaWatch()


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate a policy file (the built-in default when ``path`` is None)."""
    file = Path(path) if path else DEFAULT_POLICY
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{file}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise PolicyError(f"{file}: {key}: {err['msg']}") from None
