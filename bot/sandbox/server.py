"""aiohttp front end of the sandbox: the Bot API, file downloads and the /sandbox/ control API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.runtime.heap import settle_heap
from bot.sandbox import group_methods  # noqa: F401  (registers the group methods)
from bot.sandbox.groups import TOPIC_COLORS
from bot.sandbox.methods import Params, Upload, call, canonical
from bot.sandbox.model import ApiError, NotMember, UserBlocked
from bot.sandbox.state import (
    MEDIA_KINDS,
    PendingUpdate,
    World,
    command_entities,
    update_chat_key,
)

log = logging.getLogger("bot.sandbox")

TOKEN_RE = re.compile(r"(\d+):(.+)")
TIMEOUT_FAULT_HOLD = 30.0  # seconds a "timeout" fault holds the request
MAX_BODY = 64 * 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class ControlError(Exception):
    """A control-API error (HTTP status + message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _api_error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.retry_after is not None:
        body["parameters"] = {"retry_after": exc.retry_after}
    return web.json_response(body, status=exc.code)


def _int(body: dict[str, Any] | Any, key: str) -> int:
    try:
        return int(body[key])
    except (KeyError, TypeError, ValueError):
        raise ControlError(400, f"{key} (integer) is required") from None


def _read_local(path: str) -> bytes | None:
    try:
        p = Path(path)
        return p.read_bytes() if p.is_file() else None
    except (OSError, ValueError):
        return None


class SandboxServer:
    """A fake Telegram Bot API server with a JSON control API for tests and demos."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        delay_ms: float = 0,
        flood_limits: bool = False,
        allow_insecure_webhook: bool = False,
        clock: Callable[[], float] = time.time,
        start_ids: tuple[int, int] = (1, 1),
    ) -> None:
        """``allow_insecure_webhook``: accept an http:// webhook on any port (a local bot
        listener in tests and in the bot's own sandbox mode); Telegram requires HTTPS on port
        443, 80, 88 or 8443."""
        self.host = host
        self.port = port
        self.world = World(clock, start_ids=start_ids)  # (first update id, first message id)
        self.world.delay_ms = float(delay_ms)
        self.world.flood_enabled = flood_limits
        self.world.allow_insecure_webhook = allow_insecure_webhook
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # a load balancer in front of several bot instances: deliveries go to these in turn
        # (a failed delivery is retried on the next one); empty = the registered webhook URL
        self.webhook_targets: list[str] = []

    @property
    def allow_insecure_webhook(self) -> bool:
        return self.world.allow_insecure_webhook

    @allow_insecure_webhook.setter
    def allow_insecure_webhook(self, value: bool) -> None:
        self.world.allow_insecure_webhook = value

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        return self.url + "/bot"

    @property
    def file_base_url(self) -> str:
        return self.url + "/file/bot"

    async def start(self) -> None:
        """Bind and serve (the real port is known afterwards when port=0)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        r = app.router
        r.add_get("/sandbox/health", self._health)
        r.add_post("/sandbox/send", self._send)
        r.add_post("/sandbox/press", self._press)
        r.add_post("/sandbox/block", self._block)
        r.add_post("/sandbox/unblock", self._unblock)
        r.add_post("/sandbox/edit", self._edit)
        r.add_post("/sandbox/update", self._update)
        r.add_post("/sandbox/redeliver", self._redeliver)
        r.add_get("/sandbox/messages", self._messages)
        r.add_get("/sandbox/callback_answers", self._callback_answers)
        r.add_post("/sandbox/faults", self._faults)
        r.add_delete("/sandbox/faults", self._clear_faults)
        r.add_post("/sandbox/config", self._config)
        r.add_get("/sandbox/stats", self._stats)
        r.add_post("/sandbox/reset", self._reset)
        r.add_get("/sandbox/files/{file_id}", self._file)
        r.add_get("/sandbox/groups", self._groups)
        r.add_post("/sandbox/groups", self._create_group)
        r.add_post("/sandbox/groups/member", self._group_member)
        r.add_post("/sandbox/groups/bot", self._group_bot)
        r.add_post("/sandbox/groups/topic", self._group_topic)
        self._stopping.clear()
        self.world.closing = False
        # no access log: request paths contain the bot token
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        for addr in self._runner.addresses:
            if isinstance(addr, tuple):
                self.port = int(addr[1])
                break
        log.info("Bot API sandbox listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        self.world.closing = True
        self._stopping.set()
        self.world.updates_signal.fire()
        self.world.messages_signal.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- Bot API
    async def _read_params(self, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON body") from None
                if isinstance(body, dict):
                    values.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
                    elif isinstance(value, bytes | bytearray):
                        uploads[key] = Upload(bytes(value))
                    else:
                        values[key] = value
        return Params(values, uploads)

    async def _bot_api(self, request: web.Request) -> web.Response:
        world = self.world
        raw_method = request.match_info["method"]
        match = TOKEN_RE.fullmatch(request.match_info["token"])
        log.debug("%s /bot<redacted>/%s", request.method, raw_method)
        try:
            if match is None:
                raise ApiError(401, "Unauthorized")
            world.bot_id = int(match.group(1))
            name = canonical(raw_method)
            world.calls[name or raw_method] += 1
            if name is None:
                raise ApiError(404, "Not Found")
            params = await self._read_params(request)
            if world.delay_ms > 0:
                await asyncio.sleep(world.delay_ms / 1000)
            fault = world.take_fault(name.lower())
            if fault is not None:
                await self._inject_fault(*fault)
            result = await call(world, name, params)
        except ApiError as exc:
            world.errors[str(exc.code)] += 1
            return _api_error(exc)
        self._ensure_webhook()
        return web.json_response({"ok": True, "result": result})

    async def _inject_fault(self, kind: str, retry_after: int) -> None:
        if kind == "429":
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        if kind == "413":  # what a proxy in front of the Bot API answers to a too large body
            raise ApiError(413, "Request Entity Too Large")
        if kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), TIMEOUT_FAULT_HOLD)
            raise ApiError(502, "Bad Gateway")
        raise ApiError(500, "Internal Server Error")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if TOKEN_RE.fullmatch(request.match_info["token"]) is None:
            return _api_error(ApiError(401, "Unauthorized"))
        f = self.world.files_by_path.get(request.match_info["path"])
        if f is None:
            return _api_error(ApiError(404, "Not Found"))
        return web.Response(body=f.data, content_type=f.mime_type or "application/octet-stream")

    # ---------------------------------------------------------------- webhook delivery
    def _ensure_webhook(self) -> None:
        if self.world.webhook_url and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.create_task(self._webhook_loop())

    async def _webhook_loop(self) -> None:
        """POST pending updates as Telegram does: one in flight per chat, in order, and at most
        ``max_connections`` at once; a chat whose delivery failed is retried with backoff."""
        world = self.world
        loop = asyncio.get_running_loop()
        inflight: dict[str, asyncio.Task[bool]] = {}
        retry_at: dict[str, float] = {}
        backoff: dict[str, float] = {}
        turn = [0]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            try:
                while world.webhook_url and not world.closing:
                    now = loop.time()
                    heads: set[str] = set()
                    for pending in list(world.updates):
                        if len(inflight) >= world.webhook_max_connections:
                            break
                        key = update_chat_key(pending.payload)
                        if key in heads:
                            continue  # only a chat's earliest pending update may go
                        heads.add(key)
                        if key not in inflight and retry_at.get(key, 0.0) <= now:
                            inflight[key] = asyncio.create_task(
                                self._deliver(session, pending, turn)
                            )
                    due = [t - now for k, t in retry_at.items() if k not in inflight and t > now]
                    woken = asyncio.create_task(world.updates_signal.wait(min([1.0, *due])))
                    await asyncio.wait({woken, *inflight.values()}, return_when="FIRST_COMPLETED")
                    woken.cancel()
                    for key, task in list(inflight.items()):
                        if not task.done():
                            continue
                        del inflight[key]
                        if task.result():
                            retry_at.pop(key, None)
                            backoff.pop(key, None)
                        else:
                            wait = backoff.get(key, 0.05)
                            retry_at[key] = loop.time() + wait
                            backoff[key] = min(wait * 2, 5.0)
            finally:
                for task in inflight.values():
                    task.cancel()
                await asyncio.gather(*inflight.values(), return_exceptions=True)

    async def _deliver(
        self, session: aiohttp.ClientSession, pending: PendingUpdate, turn: list[int]
    ) -> bool:
        """POST one update to the webhook (or the next load-balanced target); True when taken."""
        world = self.world
        headers = {SECRET_HEADER: world.webhook_secret} if world.webhook_secret else {}
        targets = self.webhook_targets or [world.webhook_url]
        url = targets[turn[0] % len(targets)]
        turn[0] += 1
        error = ""
        try:
            async with session.post(url, json=pending.payload, headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection error: {type(exc).__name__}"
        if error:
            world.webhook_last_error = (int(world.clock()), error)
            return False
        world.confirm_webhook(pending)
        return True

    # ---------------------------------------------------------------- control API
    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ControlError(400, "body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        return body

    @staticmethod
    def _ok(data: dict[str, Any]) -> web.Response:
        return web.json_response(data)

    @staticmethod
    async def _bytes(value: Any, what: str) -> bytes:
        """Decode base64, or read a local file path."""
        if isinstance(value, str) and len(value) < 4096:
            data = await asyncio.to_thread(_read_local, value)
            if data is not None:
                return data
        try:
            return base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(400, f"{what} must be base64 or a local file path") from None

    async def _guard(self, coro: Any) -> web.Response:
        try:
            return self._ok(await coro)
        except ControlError as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=exc.status)
        except UserBlocked as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=409)
        except NotMember as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=403)
        except LookupError as exc:
            msg = exc.args[0] if exc.args else str(exc)
            return web.json_response({"ok": False, "description": msg}, status=404)
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=400)

    async def _health(self, request: web.Request) -> web.Response:
        return self._ok({"ok": True})

    async def _send(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            user_id = _int(body, "user_id")
            if isinstance(body.get("photo"), str):
                body["photo"] = await self._bytes(body["photo"], "photo")
            doc = body.get("document")
            if doc is not None:
                if not isinstance(doc, dict):
                    raise ControlError(400, "document must be an object")
                body["document"] = {
                    **doc,
                    "content": await self._bytes(doc.get("content_base64", ""), "document"),
                }
            for kind in MEDIA_KINDS:
                media = body.get(kind)
                if isinstance(media, dict) and media.get("content_base64") is not None:
                    body[kind] = {**media, "content": await self._bytes(media["content_base64"], kind)}
                elif media is not None and not isinstance(media, dict | bool):
                    raise ControlError(400, f"{kind} must be true or an object")
            if body.get("chat_id") is not None and body["chat_id"] != user_id:
                return self._send_to_group(user_id, body)
            update_id, message_id = self.world.user_send(user_id, body)
            return {"update_id": update_id, "message_id": message_id}

        return await self._guard(run())

    def _send_to_group(self, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """A member writes into a group (``message_thread_id``: into that topic); ``update_id``
        is None when Telegram would not show the message to the bot (privacy mode)."""
        world = self.world
        group = world.groups.known(_int(body, "chat_id"))
        user = world.touch_user(user_id, body)
        content = world.user_message_content(user, body)
        thread = body.get("message_thread_id")
        reply = body.get("reply_to_message_id")
        msg = world.groups.user_post(
            group, user, content,
            None if thread is None else _int(body, "message_thread_id"),
            None if reply is None else _int(body, "reply_to_message_id"),
        )
        update_id = world.groups.update_of.get((group.id, msg.message_id))
        return {"update_id": update_id, "message_id": msg.message_id, "chat_id": group.id}

    async def _groups(self, request: web.Request) -> web.Response:
        return self._ok({"groups": self.world.groups.view(self.url)})

    async def _create_group(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            is_forum = body.get("is_forum", False)
            if not isinstance(is_forum, bool):
                raise ControlError(400, "is_forum must be true or false")
            group = self.world.groups.create(
                str(body.get("title") or ""), is_forum, _int(body, "creator_id")
            )
            return {"chat_id": group.id, "chat": group.chat_dict()}

        return await self._guard(run())

    async def _group_member(self, request: web.Request) -> web.Response:
        """A user joins, leaves, is banned, promoted or demoted (``status``), by ``by``."""

        async def run() -> dict[str, Any]:
            body = await self._body(request)
            group = self.world.groups.known(_int(body, "chat_id"))
            user_id = _int(body, "user_id")
            self.world.touch_user(user_id, body)
            by = None if body.get("by") is None else _int(body, "by")
            message_id = self.world.groups.set_member(
                group, user_id, str(body.get("status", "")), by
            )
            return {"ok": True, "message_id": message_id}

        return await self._guard(run())

    async def _group_bot(self, request: web.Request) -> web.Response:
        """The group's creator (``by``) adds the bot (``member``), makes it an administrator
        (``rights``: e.g. ``{"can_manage_topics": false}``; the rest granted) or removes it."""

        async def run() -> dict[str, Any]:
            body = await self._body(request)
            group = self.world.groups.known(_int(body, "chat_id"))
            rights = body.get("rights") or {}
            if not isinstance(rights, dict):
                raise ControlError(400, "rights must be an object")
            self.world.groups.set_bot(group, str(body.get("status", "")), _int(body, "by"), rights)
            return {"ok": True, "bot": group.bot.to_dict(self.world.bot_user)}

        return await self._guard(run())

    async def _group_topic(self, request: web.Request) -> web.Response:
        """A member creates a topic (``name``, ``icon_color``) in a forum."""

        async def run() -> dict[str, Any]:
            body = await self._body(request)
            group = self.world.groups.known(_int(body, "chat_id"))
            user = self.world.touch_user(_int(body, "user_id"), body)
            color = int(body.get("icon_color") or TOPIC_COLORS[0])
            topic = self.world.groups.user_topic(group, user, str(body.get("name") or ""), color)
            return topic.to_dict()

        return await self._guard(run())

    async def _press(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            forge = body.get("forge", False)
            if not isinstance(forge, bool):
                raise ControlError(400, "forge must be true or false")
            chat_id = None if body.get("chat_id") is None else _int(body, "chat_id")
            update_id, query_id = self.world.user_press(
                _int(body, "user_id"), _int(body, "message_id"), str(body.get("data", "")),
                forge=forge, chat_id=chat_id,
            )
            return {"update_id": update_id, "callback_query_id": query_id}

        return await self._guard(run())

    async def _block(self, request: web.Request) -> web.Response:
        return await self._guard(self._set_blocked(request, True))

    async def _unblock(self, request: web.Request) -> web.Response:
        return await self._guard(self._set_blocked(request, False))

    async def _set_blocked(self, request: web.Request, blocked: bool) -> dict[str, Any]:
        """The user blocks/unblocks the bot; ``update_id`` of the my_chat_member update, if any
        (None when nothing changed, or when allowed_updates keeps it from the bot)."""
        body = await self._body(request)
        user_id = _int(body, "user_id")
        update_id = self.world.set_blocked(user_id, blocked)
        if update_id is not None and update_id not in self.world.history:
            update_id = None
        return {"ok": True, "blocked": blocked, "update_id": update_id}

    async def _edit(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            text = body.get("text")
            if not isinstance(text, str) or not text:
                raise ControlError(400, "text is required")
            if body.get("chat_id") is not None and body["chat_id"] != body.get("user_id"):
                group = self.world.groups.known(_int(body, "chat_id"))
                return {"update_id": self.world.groups.user_edit(
                    group, _int(body, "user_id"), _int(body, "message_id"), text,
                    command_entities(text),
                )}
            update_id = self.world.user_edit(_int(body, "user_id"), _int(body, "message_id"), text)
            return {"update_id": update_id}

        return await self._guard(run())

    async def _update(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            update = body.get("update")
            if not isinstance(update, dict):
                raise ControlError(400, "update must be an object")
            return {"update_id": self.world.inject(update)}

        return await self._guard(run())

    async def _redeliver(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            update_id = _int(body, "update_id")
            if not self.world.redeliver(update_id):
                raise LookupError(f"update {update_id} unknown")
            return {"update_id": update_id}

        return await self._guard(run())

    async def _messages(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            q = request.query
            if q.get("chat_id"):
                return await self._group_messages(q)
            user_id = _int(q, "user_id")
            since = int(q.get("since") or 0)
            wait = min(60.0, max(0.0, float(q.get("wait") or 0)))
            include_user = q.get("include_user", "") not in ("", "0", "false")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            while True:
                msgs, last_id = self.world.view_messages(user_id, since, include_user, self.url)
                remaining = deadline - loop.time()
                if msgs or remaining <= 0 or self.world.closing:
                    break
                await self.world.messages_signal.wait(remaining)
            self.world.remember_cursor(user_id, last_id)
            return {"messages": msgs, "last_id": last_id}

        return await self._guard(run())

    async def _group_messages(self, q: Any) -> dict[str, Any]:
        """/sandbox/messages?chat_id=<group>[&thread_id=][&since=][&wait=]: every message of
        the group (users' and the bot's), of one topic when ``thread_id`` is given."""
        group = self.world.groups.known(_int(q, "chat_id"))
        since = int(q.get("since") or 0)
        thread = int(q["thread_id"]) if q.get("thread_id") else None
        wait = min(60.0, max(0.0, float(q.get("wait") or 0)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            msgs, last_id = self.world.groups.view_messages(group, since, self.url, thread)
            remaining = deadline - loop.time()
            if msgs or remaining <= 0 or self.world.closing:
                break
            await self.world.messages_signal.wait(remaining)
        self.world.groups.remember_cursor(group, last_id)
        return {"messages": msgs, "last_id": last_id}

    async def _callback_answers(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            user_id = _int(request.query, "user_id")
            return {"answers": list(self.world.answers.get(user_id, []))}

        return await self._guard(run())

    async def _faults(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            self.world.add_fault(await self._body(request))
            return {"ok": True}

        return await self._guard(run())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.world.faults.clear()
        self.world.rate_faults.clear()
        return self._ok({"ok": True})

    async def _config(self, request: web.Request) -> web.Response:
        async def run() -> dict[str, Any]:
            body = await self._body(request)
            if "delay_ms" in body:
                self.world.delay_ms = max(0.0, float(body["delay_ms"]))
            if "flood_limits" in body:
                self.world.flood_enabled = bool(body["flood_limits"])
                self.world.reset_flood()
            if "allow_insecure_webhook" in body:
                self.world.allow_insecure_webhook = bool(body["allow_insecure_webhook"])
            return {
                "ok": True,
                "delay_ms": self.world.delay_ms,
                "flood_limits": self.world.flood_enabled,
                "allow_insecure_webhook": self.world.allow_insecure_webhook,
            }

        return await self._guard(run())

    async def _stats(self, request: web.Request) -> web.Response:
        return self._ok(self.world.stats())

    async def _reset(self, request: web.Request) -> web.Response:
        self.world.reset()
        return self._ok({"ok": True})

    async def _file(self, request: web.Request) -> web.Response:
        f = self.world.files.get(request.match_info["file_id"])
        if f is None:
            return web.json_response({"ok": False, "description": "file not found"}, status=404)
        return web.Response(body=f.data, content_type=f.mime_type or "application/octet-stream")


async def serve_forever(host: str = "127.0.0.1", port: int = 8081, **kw: Any) -> None:
    """Run a sandbox until cancelled (``sdbot sandbox``)."""
    server = SandboxServer(host, port, **kw)
    await server.start()
    print(f"Bot API sandbox on {server.url} (control API: {server.url}/sandbox/)", flush=True)
    settle_heap()  # its own process (``sdbot sandbox``): no collector pauses in a benchmark's answers
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
