"""The browser chat for the sandbox: aiohttp routes over the in-process sandbox world.

The page (``static/``) plays any number of sandbox users at once. It reads the sandbox's world
directly (one server-sent-event stream per open chat, woken by the world's change signal), acts
through the same world methods as the sandbox control API, serves the files the bot sent, and
moves the desk clock that the bot, its timers and the sandbox share.

Bound to loopback only. Requests must name this server in ``Host`` (no DNS rebinding), and
writes must be same-origin JSON (no cross-site form posts).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.core.clock import Clock
from bot.sandbox import SandboxServer
from bot.sandbox.groups import Group, view_group_message
from bot.sandbox.model import Message, NotMember, view_message
from bot.sandbox.state import World
from bot.webchat import clockctl
from bot.webchat.personas import NewUserIds, all_personas, staff_personas

log = logging.getLogger("bot.webchat")

STATIC = Path(__file__).with_name("static")
MAX_BODY = 24 * 1024 * 1024  # a photo or document, base64-encoded
KEEPALIVE = 15.0  # seconds between SSE comments on an idle stream
ANSWER_POLL = 0.5  # callback answers do not fire the message signal; look this often
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """A malformed page request (400 with a one-line message)."""


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(body: dict[str, Any], key: str) -> int:
    try:
        return int(body[key])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(f"{key} (integer) is required") from None


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{what} must be base64") from None


def _profile(body: dict[str, Any]) -> dict[str, Any]:
    """The Telegram profile fields the page sends with every action."""
    lang = str(body.get("language_code") or "zh")[:8]
    name = str(body.get("first_name") or "").strip()[:64]
    return {"first_name": name or None, "language_code": lang}


def send_body(body: dict[str, Any]) -> dict[str, Any]:
    """Translate a page send request into a sandbox ``user_send`` body."""
    out: dict[str, Any] = _profile(body)
    text = body.get("text")
    if isinstance(text, str) and text.strip():
        out["text"] = text
    if body.get("photo_base64"):
        out["photo"] = _b64(body["photo_base64"], "photo")
        out["caption"] = out.pop("text", None)
    elif body.get("document_base64") and str(body.get("mime_type") or "").startswith("video/"):
        out["video"] = {  # a video file the page picked goes as a video, as Telegram's apps send it
            "file_name": str(body.get("file_name") or "video.mp4")[:128],
            "mime_type": str(body["mime_type"])[:64],
            "content": _b64(body["document_base64"], "video"),
        }
        out["caption"] = out.pop("text", None)
    elif body.get("document_base64"):
        out["document"] = {
            "file_name": str(body.get("file_name") or "document.bin")[:128],
            "mime_type": str(body.get("mime_type") or "") or None,
            "content": _b64(body["document_base64"], "document"),
        }
        out["caption"] = out.pop("text", None)
    if body.get("phone"):
        out["contact"] = {"phone_number": str(body["phone"])[:32]}
    if body.get("reply_to_message_id") is not None:
        out["reply_to_message_id"] = _int(body, "reply_to_message_id")
    if not any(k in out for k in ("text", "photo", "document", "video", "contact")):
        raise BadRequest("nothing to send")
    return out


def message_event(m: Message) -> dict[str, Any]:
    """One message as the page renders it (file urls point at this server)."""
    view = view_message(m, "")
    view["seq"] = m.changed_seq
    return view


STAFF_GROUP_TITLE = "Service desk staff"


def create_staff_group(world: World, title: str = STAFF_GROUP_TITLE) -> Group:
    """A forum with every demo staff member in it, its first engineer as creator, and the bot as
    an administrator that may manage topics: the staff group of ``sdbot run`` in the sandbox."""
    staff = staff_personas()
    groups = world.groups
    group = groups.create(title, True, staff[0]["user_id"])
    for p in staff[1:]:
        groups.set_member(group, p["user_id"], "member", None)
    groups.set_bot(group, "administrator", staff[0]["user_id"])
    return group


class WebChat:
    """Serves the chat page and its JSON/SSE API for one in-process sandbox."""

    def __init__(
        self,
        sandbox: SandboxServer,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        wake: Callable[[], None] | None = None,
        on_duty: Callable[[], Awaitable[list[int]]] | None = None,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the web chat binds to loopback only, not {host}")
        self.sandbox = sandbox
        self.world = sandbox.world
        self.clock = clock
        self.host = host
        self.port = port
        self.wake = wake
        self.on_duty = on_duty
        self.new_ids = NewUserIds(self.world.users)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def build(self) -> web.Application:
        """The aiohttp application (routes and the security middleware)."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        r = app.router
        r.add_get("/", self._index)
        r.add_static("/static/", STATIC, follow_symlinks=False)
        r.add_get("/api/personas", self._personas)
        r.add_post("/api/users/new", self._new_user)
        r.add_post("/api/open", self._open)
        r.add_post("/api/send", self._send)
        r.add_post("/api/press", self._press)
        r.add_post("/api/edit", self._edit)
        r.add_get("/api/events", self._events)
        r.add_get("/api/groups", self._groups)
        r.add_post("/api/groups/send", self._group_send)
        r.add_get("/api/groups/events", self._group_events)
        r.add_get("/api/duty", self._duty)
        r.add_get("/api/clock", self._clock_get)
        r.add_post("/api/clock", self._clock_post)
        r.add_get("/sandbox/files/{file_id}", self._file)
        return app

    async def start(self) -> None:
        """Bind (port 0 picks a free port) and serve."""
        self._closing.clear()
        self.greet_staff()
        self._runner = web.AppRunner(
            self.build(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        for addr in self._runner.addresses:
            if isinstance(addr, tuple):
                self.port = int(addr[1])
                break
        log.info("web chat on %s", self.url)

    def greet_staff(self) -> None:
        """The demo staff have 'started' the bot, so dispatches reach them before their pane opens."""
        for p in staff_personas():
            if p["user_id"] not in self.world.users:
                self.world.touch_user(p["user_id"], {"first_name": p["first_name"], "language_code": "zh"})

    async def stop(self) -> None:
        """Close event streams and stop serving."""
        self._closing.set()
        self.world.messages_signal.fire()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------ security
    def _allowed_hosts(self) -> set[str]:
        return {f"{h}:{self.port}" for h in ("127.0.0.1", "localhost", "[::1]", self.host)}

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        hosts = self._allowed_hosts()
        if request.host not in hosts:
            return web.json_response({"ok": False, "description": "unknown host"}, status=421)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("Origin")
            if origin is not None and origin.removeprefix("http://") not in hosts:
                return web.json_response({"ok": False, "description": "cross-origin"}, status=403)
            if request.content_type != "application/json":
                return web.json_response({"ok": False, "description": "JSON only"}, status=415)
        try:
            resp = await handler(request)
        except BadRequest as exc:
            resp = web.json_response({"ok": False, "description": str(exc)}, status=400)
        except LookupError as exc:
            msg = exc.args[0] if exc.args else "not found"
            resp = web.json_response({"ok": False, "description": str(msg)}, status=404)
        except NotMember as exc:
            resp = web.json_response({"ok": False, "description": str(exc)}, status=403)
        except ValueError as exc:
            resp = web.json_response({"ok": False, "description": str(exc)}, status=400)
        if not resp.prepared:
            resp.headers.setdefault("X-Content-Type-Options", "nosniff")
            resp.headers.setdefault("Referrer-Policy", "no-referrer")
            resp.headers.setdefault("X-Frame-Options", "DENY")
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("body must be a JSON object") from None
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body

    # ------------------------------------------------------------ page
    async def _index(self, request: web.Request) -> web.StreamResponse:
        resp = web.FileResponse(STATIC / "index.html")
        resp.headers["Content-Security-Policy"] = PAGE_CSP
        return resp

    async def _personas(self, request: web.Request) -> web.Response:
        return web.json_response(all_personas())

    async def _new_user(self, request: web.Request) -> web.Response:
        return web.json_response({"user_id": self.new_ids.take()})

    # ------------------------------------------------------------ acting as a user
    async def _open(self, request: web.Request) -> web.Response:
        """Open a persona's chat: the user exists for the bot (as if they had started it)."""
        body = await self._json(request)
        user_id = _int(body, "user_id")
        profile = _profile(body)
        if profile["first_name"] is None:
            profile["first_name"] = f"User{user_id}"
        self.world.touch_user(user_id, profile)
        return web.json_response({"ok": True, "user_id": user_id})

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        user_id = _int(body, "user_id")
        update_id, message_id = self.world.user_send(user_id, send_body(body))
        return web.json_response({"ok": True, "update_id": update_id, "message_id": message_id})

    async def _press(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        data = body.get("data")
        if not isinstance(data, str) or not data:
            raise BadRequest("data is required")
        chat_id = None if body.get("chat_id") is None else _int(body, "chat_id")
        update_id, query_id = self.world.user_press(
            _int(body, "user_id"), _int(body, "message_id"), data, chat_id=chat_id
        )
        return web.json_response({"ok": True, "update_id": update_id, "callback_query_id": query_id})

    async def _edit(self, request: web.Request) -> web.Response:
        """The user edits one of their own text messages (the bot gets an edited_message)."""
        body = await self._json(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("text is required")
        update_id = self.world.user_edit(_int(body, "user_id"), _int(body, "message_id"), text)
        return web.json_response({"ok": True, "update_id": update_id})

    # ------------------------------------------------------------ the staff group
    def create_staff_group(self, title: str = STAFF_GROUP_TITLE) -> Group:
        """The demo staff group in this chat's sandbox (see :func:`create_staff_group`)."""
        return create_staff_group(self.world, title)

    async def _groups(self, request: web.Request) -> web.Response:
        """Every sandbox group with its topics (name, open or closed) and members."""
        return web.json_response({"groups": self.world.groups.view("")})

    async def _group_send(self, request: web.Request) -> web.Response:
        """A member writes into the group, into ``message_thread_id``'s topic when given."""
        body = await self._json(request)
        group = self.world.groups.known(_int(body, "chat_id"))
        user_id = _int(body, "user_id")
        user = self.world.touch_user(user_id, _profile(body))
        content = self.world.user_message_content(user, send_body(body))
        thread = None if body.get("message_thread_id") is None else _int(body, "message_thread_id")
        reply = body.get("reply_to_message_id")
        msg = self.world.groups.user_post(
            group, user, content, thread, None if reply is None else _int(body, "reply_to_message_id")
        )
        return web.json_response({"ok": True, "message_id": msg.message_id})

    async def _group_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events of a group: every message (each with its topic), then each new or
        changed one; a ``topics`` event whenever its topics or its members' statuses change; an
        ``answer`` (with the member's ``user_id``) when the bot answers a member's button press."""
        group = self.world.groups.known(_int(dict(request.query), "chat_id"))
        resp = await self._stream(request)
        loop = asyncio.get_running_loop()
        seq, topics_seen, last_write = 0, "", loop.time()
        answers_seen: dict[int, int] = {}
        with contextlib.suppress(ConnectionResetError):
            while not self._closing.is_set() and not self.world.closing:
                for uid in group.members:
                    answers = self.world.answers.get(uid, [])
                    for answer in answers[answers_seen.setdefault(uid, len(answers)):]:
                        if answer.get("text"):
                            await resp.write(_sse("answer", {**answer, "user_id": uid}))
                    answers_seen[uid] = len(answers)
                changed = sorted(
                    (m for m in group.messages.values() if m.changed_seq > seq),
                    key=lambda m: m.changed_seq,
                )
                topics = [{**t.to_dict(), "closed": t.closed}
                          for t in sorted(group.topics.values(), key=lambda t: t.thread_id)]
                members = {str(uid): m.status for uid, m in group.members.items()}
                snapshot = json.dumps([topics, members])
                if snapshot != topics_seen:
                    topics_seen = snapshot
                    await resp.write(_sse("topics", {"topics": topics, "members": members}))
                for m in changed:
                    seq = max(seq, m.changed_seq)
                    view = view_group_message(m, "")
                    view["seq"] = m.changed_seq
                    await resp.write(_sse("message", view))
                if changed:
                    last_write = loop.time()
                    continue
                last_write = await self._quiet(resp, last_write)
        return resp

    # ------------------------------------------------------------ live messages
    def _changed_since(self, user_id: int, seq: int) -> list[Message]:
        chat = self.world.chats.get(user_id)
        if chat is None:
            return []
        changed = [m for m in chat.messages.values() if m.changed_seq > seq]
        return sorted(changed, key=lambda m: m.changed_seq)

    async def _quiet(self, resp: web.StreamResponse, last_write: float) -> float:
        """Nothing new on a stream: a keep-alive comment once it has been quiet for ``KEEPALIVE``,
        then wait for the next change of any message; returns the time of the stream's last write."""
        loop = asyncio.get_running_loop()
        if loop.time() - last_write >= KEEPALIVE:
            await resp.write(b": keepalive\n\n")
            last_write = loop.time()
        await self.world.messages_signal.wait(ANSWER_POLL)
        return last_write

    @staticmethod
    async def _stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            }
        )
        await resp.prepare(request)
        return resp

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: every message of the chat, then each new or changed one."""
        user_id = _int(dict(request.query), "user_id")
        resp = await self._stream(request)
        loop = asyncio.get_running_loop()
        seq = 0
        answers_seen = len(self.world.answers.get(user_id, []))
        last_write = loop.time()
        with contextlib.suppress(ConnectionResetError):
            while not self._closing.is_set() and not self.world.closing:
                wrote = False
                for m in self._changed_since(user_id, seq):
                    seq = max(seq, m.changed_seq)
                    await resp.write(_sse("message", message_event(m)))
                    wrote = True
                answers = self.world.answers.get(user_id, [])
                for answer in answers[answers_seen:]:
                    if answer.get("text"):
                        await resp.write(_sse("answer", answer))
                        wrote = True
                answers_seen = len(answers)
                if wrote:
                    last_write = loop.time()
                    continue
                last_write = await self._quiet(resp, last_write)
        return resp

    async def _file(self, request: web.Request) -> web.Response:
        """A file from the sandbox (photos and documents in the chats)."""
        f = self.world.files.get(request.match_info["file_id"])
        if f is None:
            raise LookupError("file not found")
        mime = (f.mime_type or "application/octet-stream").lower()
        name = (f.file_name or Path(f.file_path).name).replace('"', "")
        disposition = "inline" if mime in INLINE_TYPES else "attachment"
        return web.Response(
            body=f.data,
            content_type=mime,
            headers={
                "Content-Disposition": f'{disposition}; filename="{_ascii(name)}"',
                "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
            },
        )

    # ------------------------------------------------------------ clock
    def _clock_view(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "iso": now.isoformat(timespec="seconds"),
            "epoch_ms": int(now.timestamp() * 1000),
            "tz": str(self.clock.tz),
            "offset_s": int(self.clock.offset.total_seconds()),
        }

    async def _duty(self, request: web.Request) -> web.Response:
        """Sandbox user ids of the staff on duty now (empty when unknown)."""
        ids: list[int] = []
        if self.on_duty is not None:
            try:
                ids = await self.on_duty()
            except Exception:  # a hint for the page; never break it
                log.exception("web chat: cannot work out who is on duty")
        return web.json_response({"user_ids": ids})

    async def _clock_get(self, request: web.Request) -> web.Response:
        return web.json_response(self._clock_view())

    async def _clock_post(self, request: web.Request) -> web.Response:
        """Move the shared desk clock forward; due timers fire at once."""
        body = await self._json(request)
        action = str(body.get("action", ""))
        target = clockctl.target_for(action, self.clock.now())
        self.clock.set(target)
        log.info("web chat: clock moved to %s", target.isoformat(timespec="minutes"))
        if self.wake is not None:
            self.wake()
        return web.json_response(self._clock_view())


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _ascii(name: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in name) or "file"
