"""python-telegram-bot's HTTP layer on aiohttp instead of httpx (issue 19).

Every Bot API call the bot makes (each outbox row, each callback answer, ``getUpdates``) goes
through :meth:`AiohttpRequest.do_request`. With PTB's default ``HTTPXRequest`` about 40 % of the
bot's CPU under load went to httpx, httpcore and anyio around each call: the connection pool's
bookkeeping, anyio's socket attributes rebuilt for every readability check, and
``httpcore.current_async_library`` retrying a failed ``import sniffio`` (anyio ≥ 4.13 no longer
ships it) three times per request. aiohttp (already the webhook's and the sandbox's server) parses
HTTP in C and keeps its pool cheaply; PTB documents ``BaseRequest`` as the seam for this.

Behaviour kept from ``HTTPXRequest``: parameters are sent form-encoded (each value the JSON that
PTB prepared), files as multipart; the default timeouts are PTB's (connect 5 s, read 5 s, write
5 s, 20 s when uploading); a timeout raises ``TimedOut`` and any other transport failure
``NetworkError``. aiohttp has no separate write or pool timeout: waiting for a free connection
counts against ``connect`` (pool + connect), and the whole call is bounded by the sum of all four,
so a stalled upload still ends. Error texts have the bot token (part of every URL) redacted.
"""

from __future__ import annotations

from typing import IO

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.core.logs import redact_tokens

_Files = dict[str, tuple[str, bytes | IO[bytes], str]]  # RequestData.multipart_data: name → file


def _seconds(value: object, default: float | None) -> float | None:
    """A PTB timeout argument: ``DEFAULT_NONE`` (any ``DefaultValue``) → this request's default."""
    if value is None:
        return None
    return float(value) if isinstance(value, int | float) else default


def _redacted(err: BaseException) -> str:
    return redact_tokens(f"aiohttp.{type(err).__name__}: {err}")


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` over one ``aiohttp.ClientSession`` with ``pool_size`` connections."""

    def __init__(
        self,
        pool_size: int = 64,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _timeout(
        self, read: object, write: object, connect: object, pool: object, upload: bool
    ) -> aiohttp.ClientTimeout:
        read_s = _seconds(read, self._read)
        write_s = _seconds(write, self._media_write if upload else self._write)
        connect_s = _seconds(connect, self._connect)
        pool_s = _seconds(pool, self._pool)
        parts = (read_s, write_s, connect_s, pool_s)
        total = None if None in parts else sum(p for p in parts if p is not None)
        waiting = None if connect_s is None or pool_s is None else connect_s + pool_s
        return aiohttp.ClientTimeout(
            total=total, connect=waiting, sock_connect=connect_s, sock_read=read_s
        )

    @staticmethod
    def _body(
        request_data: RequestData | None, files: _Files
    ) -> aiohttp.FormData | dict[str, str] | None:
        if request_data is None:
            return None
        fields = request_data.json_parameters
        if not files:
            return fields
        form = aiohttp.FormData(quote_fields=False)
        for name, value in fields.items():
            form.add_field(name, value)
        for name, (filename, content, mime_type) in files.items():
            form.add_field(name, content, filename=filename, content_type=mime_type)
        return form

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See ``BaseRequest.do_request``: the HTTP status and the body of one call."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else {}  # built anew per access
        timeout = self._timeout(
            read_timeout, write_timeout, connect_timeout, pool_timeout, upload=bool(files)
        )
        try:
            async with self._session.request(
                method, url, data=self._body(request_data, files), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's timeouts derive from it
            raise TimedOut(_redacted(err)) from err
        except aiohttp.ClientError as err:
            raise NetworkError(_redacted(err)) from err
