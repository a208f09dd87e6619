"""The aiohttp request layer against a real local HTTP server: form fields, multipart uploads,
PTB's error classes on timeouts and refused connections, and no token in any error text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut

from bot.runtime.aiohttp_request import AiohttpRequest

TOKEN = "123456789:SECRET-AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # a real token's shape


@pytest.fixture
async def api() -> AsyncIterator[tuple[str, list[dict[str, object]]]]:
    seen: list[dict[str, object]] = []

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if name == "slow":
            await asyncio.sleep(2)
        form = await request.post()
        fields = {k: (v.file.read() if isinstance(v, web.FileField) else v) for k, v in form.items()}
        seen.append({"method": name, "type": request.content_type, "fields": fields,
                     "agent": request.headers.get("User-Agent", "")})
        result: dict[str, object] = {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}}
        if name == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "desk", "username": "desk_bot"}
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/bot", seen
    await runner.cleanup()


async def test_sends_form_fields_and_uploads(api: tuple[str, list[dict[str, object]]]) -> None:
    base, seen = api
    async with Bot(TOKEN, base_url=base, request=AiohttpRequest(2)) as bot:
        message = await bot.send_message(5, "你好 & <b>", reply_markup=None)
        await bot.send_document(5, InputFile(b"%PDF-1 bytes", filename="report.pdf"), caption="cap")
    assert message.message_id == 7
    text, upload = seen[-2], seen[-1]
    assert text["type"] == "application/x-www-form-urlencoded"
    assert text["fields"] == {"chat_id": "5", "text": "你好 & <b>"}
    assert "python-telegram-bot" in str(text["agent"])
    assert upload["type"] == "multipart/form-data"
    fields = upload["fields"]
    assert isinstance(fields, dict) and fields["caption"] == "cap" and fields["chat_id"] == "5"
    assert fields["document"] == b"%PDF-1 bytes"


async def _failure(request: AiohttpRequest, url: str) -> NetworkError:
    """The error one call to ``url`` raises (``TimedOut`` is a ``NetworkError`` too)."""
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(url)
    finally:
        await request.shutdown()
    return caught.value


async def test_timeout_is_timed_out_without_the_token(
    api: tuple[str, list[dict[str, object]]],
) -> None:
    base, _ = api
    error = await _failure(AiohttpRequest(1, read_timeout=0.2), f"{base}{TOKEN}/slow")
    assert isinstance(error, TimedOut)
    assert "SECRET" not in str(error)


async def test_refused_connection_is_network_error_without_the_token() -> None:
    error = await _failure(AiohttpRequest(1), f"http://127.0.0.1:9/bot{TOKEN}/getMe")
    assert not isinstance(error, TimedOut)
    assert "SECRET" not in str(error)


async def test_unstarted_request_refuses() -> None:
    with pytest.raises(RuntimeError):
        await AiohttpRequest(1).do_request("http://127.0.0.1:9/x", "POST")


def test_read_timeout_is_the_default_get_updates_adds_its_long_poll_to() -> None:
    assert AiohttpRequest(1, read_timeout=3).read_timeout == 3
