"""The staff group (issue 17): a forum supergroup in the sandbox, its topics and its members."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.harness import Harness
from tests.support.dispatchkit import TG

OUTSIDER = 8003  # a member of the staff group who is no staff


async def staff_forum(h: Harness) -> int:
    """A forum created by the admin, the bot an administrator (it may manage topics), the demo
    staff and an outsider as members; its chat id."""
    made = await h.post("/sandbox/groups", {"title": "Service desk staff", "is_forum": True, "creator_id": TG["admin"]})
    chat_id = int(made["chat_id"])
    await h.post("/sandbox/groups/bot", {"chat_id": chat_id, "status": "administrator", "by": TG["admin"], "rights": {}})
    for key, user_id in TG.items():
        if key != "admin":
            await h.post("/sandbox/groups/member", {"chat_id": chat_id, "user_id": user_id, "status": "member",
                                                    "first_name": f"User{user_id}", "by": TG["admin"]})
    await h.post("/sandbox/groups/member", {"chat_id": chat_id, "user_id": OUTSIDER, "status": "member",
                                            "first_name": "Oscar", "by": TG["admin"]})
    return chat_id


class Forum:
    """The test's view of the staff group: its topics, what the bot wrote, members writing and pressing."""

    def __init__(self, h: Harness, chat_id: int) -> None:
        self.h, self.chat_id = h, chat_id
        self.seen: dict[int | None, int] = {}

    async def topics(self) -> list[dict[str, Any]]:
        """The group's topics as the sandbox holds them (``message_thread_id``, ``name``, ``closed``)."""
        groups = (await self.h.get("/sandbox/groups"))["groups"]
        return next(g["topics"] for g in groups if g["id"] == self.chat_id)

    async def topic_of(self, number: str, wait: float = 20.0) -> dict[str, Any]:
        """The topic named after ticket ``number`` (waits for it)."""
        return await self.until_topic(lambda t: number in t["name"], wait, f"a topic of {number}")

    async def until_topic(self, ok: Any, wait: float = 20.0, what: str = "the topic") -> dict[str, Any]:
        """Wait until a topic satisfies ``ok``; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            found = [t for t in await self.topics() if ok(t)]
            if found:
                return dict(found[0])
            if loop.time() > deadline:
                raise AssertionError(f"{what} never appeared: {await self.topics()}")
            await asyncio.sleep(0.05)

    async def read(self, thread_id: int, wait: float = 5.0) -> list[dict[str, Any]]:
        """The bot's messages in the topic (new or edited) since the last read; waits for one."""
        await self.h.settle(self.chat_id, wait)
        data = await self.h.get("/sandbox/messages", chat_id=self.chat_id, thread_id=thread_id,
                                since=self.seen.get(thread_id, 0), wait=wait)
        self.seen[thread_id] = max(self.seen.get(thread_id, 0), int(data["last_id"]))
        return [m for m in data["messages"]
                if m["from"]["id"] not in (*TG.values(), OUTSIDER) and m.get("service") is None]

    async def everything(self, thread_id: int) -> list[dict[str, Any]]:
        """Every message of the topic as it is now (edits included; the read cursor is not moved)."""
        data = await self.h.get("/sandbox/messages", chat_id=self.chat_id, thread_id=thread_id, since=0)
        return list(data["messages"])

    async def message(self, thread_id: int, message_id: int) -> dict[str, Any]:
        """One message of the topic as it is now (edits included)."""
        return next(m for m in await self.everything(thread_id) if m["id"] == message_id)

    async def wait_for(self, thread_id: int, needle: str, wait: float = 15.0) -> dict[str, Any]:
        """Read the topic until a bot message containing ``needle`` arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        seen: list[str] = []
        while loop.time() < deadline:
            for m in await self.read(thread_id, max(0.1, deadline - loop.time())):
                if needle in (m.get("text") or m.get("caption") or ""):
                    return m
                seen.append(m.get("text") or "")
        raise AssertionError(f"{needle!r} never reached topic {thread_id}; got {seen}")

    async def say(self, user_id: int, thread_id: int | None, text: str | None = None, **extra: Any) -> dict[str, Any]:
        """A member writes in a topic (``None``: General)."""
        body: dict[str, Any] = {"user_id": user_id, "chat_id": self.chat_id, **extra}
        if thread_id is not None:
            body["message_thread_id"] = thread_id
        if text is not None:
            body["text"] = text
        return await self.h.post("/sandbox/send", body)

    async def press(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """A member presses a button of a bot message in the group."""
        shown = [b["data"] for row in message.get("buttons") or [] for b in row]
        assert data in shown, f"no {data!r} button on {message.get('text')!r}: {shown}"
        return await self.h.post("/sandbox/press", {"user_id": user_id, "chat_id": self.chat_id,
                                                    "message_id": message["id"], "data": data})
