"""Helpers that walk the fault-report conversation through the sandbox."""

from __future__ import annotations

import asyncio
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
    first = await collect(chat)
    if datas(first, "rp:eq:"):  # a linked account starts at the equipment
        eq = last_with_buttons(first)
    else:
        await chat.send(ident)
        await chat.read()
        await chat.send(contact={"phone_number": phone})
        eq = await read_until_button(chat, "rp:eq:")
    await chat.press(eq, button(eq, "rp:eq:"))
    await chat.read()
    await chat.send(symptom)
    sev = await read_until_button(chat, "rp:sev:")
    await chat.press(sev, f"rp:sev:{severity}")
    summary = await read_until_button(chat, "rp:submit")
    await chat.press(summary, "rp:submit")
    return await read_until(chat, "SD-")


async def collect(chat: Chat, wait: float = 5.0, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Everything the bot sends in answer: wait for the first message, then until it is quiet."""
    got = await chat.read(wait)
    while True:
        more = await chat.read(quiet)
        if not more:
            return got
        got += more


def joined(msgs: list[dict[str, Any]]) -> str:
    """Every text, caption and button label of ``msgs`` as one string."""
    parts: list[str] = []
    for m in msgs:
        parts += [m.get("text") or "", m.get("caption") or ""]
        parts += [b.get("text") or "" for row in m.get("buttons") or [] for b in row]
    return "\n".join(p for p in parts if p)


def datas(msgs: list[dict[str, Any]], prefix: str = "") -> list[str]:
    """Callback data of every button in ``msgs`` starting with ``prefix``."""
    return [b["data"] for m in msgs for row in m.get("buttons") or [] for b in row if b["data"].startswith(prefix)]


async def say(chat: Chat, text: str | None = None, **extra: Any) -> list[dict[str, Any]]:
    """Send and return every reply."""
    await chat.send(text, **extra)
    return await collect(chat)


async def tap(
    chat: Chat, msgs: list[dict[str, Any]], data: str, *, forge: bool = False
) -> list[dict[str, Any]]:
    """Press ``data`` on the newest of ``msgs`` that carries it; every reply. With ``forge``, data
    no message offers is pressed on the newest message (a forged press)."""
    target = next((m for m in reversed(msgs) if data in datas([m])), None)
    if target is None:
        assert forge, f"no {data!r} button in {[m.get('text') for m in msgs]}: {datas(msgs)}"
        target = msgs[-1]
    await chat.press(target, data, forge=forge)
    return await collect(chat)


async def to_summary(chat: Chat, *, ident: str = "C1001", phone: str | None = "+8613800000001",
                     name: str = "张三", symptom: str = "录像机没有画面，所有摄像头黑屏",
                     severity: str = "down") -> list[dict[str, Any]]:
    """Walk a report to its summary: verified by ``phone`` (first registered equipment), or
    unverified with ``name`` and the CCTV category + a typed equipment name."""
    await say(chat, "/report")
    got = await say(chat, ident)
    if datas(got, "rp:cust:"):
        got = await tap(chat, got, datas(got, "rp:cust:")[0])
    if phone is not None:
        got = await say(chat, contact={"phone_number": phone})
        got = await tap(chat, got, datas(got, "rp:eq:")[0])
    else:
        got = await say(chat, name)
        got = await tap(chat, got, "rp:cat:cctv")
        got = await say(chat, "大门口的摄像头")
    got = await say(chat, symptom)
    return await tap(chat, got, f"rp:sev:{severity}")


async def until(chat: Chat, marker: str, wait: float = 60.0) -> list[dict[str, Any]]:
    """Read until a message has a button starting with ``marker`` (``rp:…``) or text containing it."""
    got: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        batch = await chat.read(min(5.0, max(0.1, deadline - loop.time())))
        got += batch
        if any(marker in (m.get("text") or "") or datas([m], marker) for m in batch):
            return got
    raise AssertionError(f"{marker!r} never came: {[m.get('text') for m in got]}")
