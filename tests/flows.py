"""Helpers that walk the fault-report conversation through the sandbox."""

from __future__ import annotations

from typing import Any

from tests.harness import Chat


def button(msg: dict[str, Any], prefix: str) -> str:
    """The callback data of the first button whose data starts with ``prefix``."""
    for row in msg.get("buttons") or []:
        for b in row:
            if b["data"].startswith(prefix):
                return b["data"]
    raise AssertionError(f"no {prefix!r} button in {msg.get('text')!r}: {msg.get('buttons')}")


def last_with_buttons(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    """The newest message that carries inline buttons."""
    for m in reversed(msgs):
        if m.get("buttons"):
            return m
    raise AssertionError(f"no buttons in {[m['text'] for m in msgs]}")


async def read_until(chat: Chat, needle: str, wait: float = 5.0) -> list[dict[str, Any]]:
    """Read messages until one contains ``needle``; returns everything read."""
    got: list[dict[str, Any]] = []
    for _ in range(10):
        batch = await chat.read(wait)
        got += batch
        if any(needle in (m.get("text") or "") for m in batch):
            return got
        if not batch:
            break
    raise AssertionError(f"{needle!r} not in {[m.get('text') for m in got]}")


async def read_until_button(chat: Chat, prefix: str, wait: float = 5.0) -> dict[str, Any]:
    """Read until a message carries a button whose data starts with ``prefix``; return it."""
    seen: list[str] = []
    for _ in range(10):
        batch = await chat.read(wait)
        for m in batch:
            if any(b["data"].startswith(prefix) for row in m.get("buttons") or [] for b in row):
                return m
        seen += [m.get("text") or "" for m in batch]
        if not batch:
            break
    raise AssertionError(f"no {prefix!r} button in {seen}")


async def report_verified(chat: Chat, *, phone: str, ident: str = "C1001", severity: str = "down",
                          symptom: str = "录像机没有画面，所有摄像头黑屏") -> list[dict[str, Any]]:
    """Customer number, shared phone, first registered equipment, symptom, severity, submit."""
    await chat.send("/report")
    await read_until(chat, "客户编号" if chat.language_code.startswith("zh") else "customer number")
    await chat.send(ident)
    await chat.read()
    await chat.send(contact={"phone_number": phone})
    eq = await read_until_button(chat, "rp:eq:")
    await chat.press(eq["id"], button(eq, "rp:eq:"))
    await chat.read()
    await chat.send(symptom)
    sev = await read_until_button(chat, "rp:sev:")
    await chat.press(sev["id"], f"rp:sev:{severity}")
    summary = await read_until_button(chat, "rp:submit")
    await chat.press(summary["id"], "rp:submit")
    return await read_until(chat, "SD-")
