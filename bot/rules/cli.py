"""``sdbot rules …``, ``sdbot ask`` and ``sdbot policy check``."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add the rules commands to the ``sdbot`` parser."""
    p = sub.add_parser("policy", help="the service policy file")
    policy = p.add_subparsers(dest="policy_cmd", required=True)
    check = policy.add_parser("check", help="validate a policy file")
    check.add_argument("file")
    check.set_defaults(func=cmd_policy_check)


def cmd_policy_check(args: argparse.Namespace) -> int:
    """Validate one policy file; exit 2 with the problem when it is invalid."""
    from bot.rules.policy import PolicyError, load_policy

    try:
        load_policy(args.file)
    except PolicyError as exc:
        print(f"sdbot: {exc}")
        return 2
    print(f"{args.file}: ok")
    return 0
