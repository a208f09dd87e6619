"""Who the page lets you be: the demo customers' contacts, the demo staff, or a new user."""

from __future__ import annotations

import itertools
from typing import Any

from bot.demo import DEMO_CUSTOMERS, DEMO_STAFF

CUSTOMER_USER_ID_BASE = 5001  # sandbox user ids of the demo customers' contacts, in order
NEW_USER_ID_BASE = 7001  # new users get fresh ids from here


def customer_personas() -> list[dict[str, Any]]:
    """One persona per contact person of every demo customer (phone = the registered one)."""
    out: list[dict[str, Any]] = []
    n = itertools.count(CUSTOMER_USER_ID_BASE)
    for customer in DEMO_CUSTOMERS:
        for name, phone in customer["contacts"]:
            out.append(
                {
                    "user_id": next(n),
                    "first_name": name,
                    "phone": phone,
                    "role": "customer",
                    "customer": customer["number"],
                    "label": f"{name} · {customer['number']} {customer['name']}",
                }
            )
    return out


def staff_personas() -> list[dict[str, Any]]:
    """The demo staff with their fixed sandbox user ids."""
    return [
        {
            "user_id": tg_id,
            "first_name": name,
            "phone": phone,
            "role": role,
            "label": f"{name} · {role} {tg_id}",
        }
        for _key, name, role, phone, tg_id in DEMO_STAFF
    ]


def all_personas() -> dict[str, Any]:
    """The persona menu served to the page."""
    return {
        "customers": customer_personas(),
        "staff": staff_personas(),
        "new_user_id_base": NEW_USER_ID_BASE,
    }


class NewUserIds:
    """Hands out sandbox user ids nobody has used yet."""

    def __init__(self, taken: Any) -> None:
        self._taken = taken  # a container of ids already known to the sandbox
        self._next = NEW_USER_ID_BASE

    def take(self) -> int:
        """A fresh user id."""
        while self._next in self._taken:
            self._next += 1
        uid = self._next
        self._next += 1
        return uid
