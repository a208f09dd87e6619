"""Shared pieces of the load / crash / fault / escalation benchmarks.

* the sandbox Bot API server and the bot each run as their own process (``sdbot sandbox`` and
  ``sdbot run`` pointed at the sandbox through ``BOT_API_BASE_URL``), on a fresh SQLite database
  with the demo data in a temporary directory;
* :class:`Api` plays the users through the sandbox's control API;
* :func:`report` walks one customer through the complete fault report, driven by the button data
  prefixes (``rp:eq:``, ``rp:sev:``, ``rp:submit``) rather than by the prompts' wording;
* :class:`Engineers` long-polls the staff chats and presses ``dp:ack:`` on every dispatch card.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
STAFF_IDS = (1001, 1002, 1003, 2001)  # demo engineers and the supervisor (bot/demo.py)
CUSTOMER_BASE = 600_000
PHONE = "+8613800000001"  # a demo contact of C1001
TICKET_RE = re.compile(r"SD-[0-9A-Za-z-]+")
SYMPTOM = "录像机没有画面，所有摄像头黑屏，重启后仍然不行"
DEFAULT_POLICY = ROOT / "bot" / "rules" / "default_policy.toml"


def independent_faults_policy(workdir: Path) -> Path:
    """The default policy with duplicate reports off, written into ``workdir``. The simulated
    customers all report the same symptom on the same registered equipment; a real desk links such
    reports to one ticket (issue 14.5), here each one stands for a fault of its own."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    marker = "\nenabled = true\nsimilar_within_hours"
    if marker not in text:
        raise RuntimeError("default_policy.toml: [duplicates] enabled = true not found")
    path = workdir / "policy-independent-faults.toml"
    path.write_text(text.replace(marker, "\nenabled = false\nsimilar_within_hours", 1), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------- numbers


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def dist(values_s: list[float], unit: str = "ms") -> dict[str, Any]:
    """n, p50, p95, p99, max of seconds, in ``unit`` (ms or s)."""
    k = 1000.0 if unit == "ms" else 1.0
    out: dict[str, Any] = {"n": len(values_s)}
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
        v = pct(values_s, p)
        out[f"{name}_{unit}"] = None if v is None else round(v * k, 1 if unit == "ms" else 2)
    return out


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MB, from /proc."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time the process has used so far (utime + stime, all threads) in seconds, from /proc."""
    if pid is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 (state) onward
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15
    return None


class CpuMeter:
    """CPU seconds a process spends between :meth:`start` and :meth:`stop` (read from /proc)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.began: float | None = None
        self.used: float | None = None

    def start(self) -> None:
        self.began = cpu_seconds(self.pid)

    def stop(self) -> float | None:
        now = cpu_seconds(self.pid)
        if now is not None and self.began is not None:
            self.used = now - self.began
        return self.used

    def ms_per(self, updates: int) -> float | None:
        """Milliseconds of CPU per update handled (None when unknown)."""
        return None if self.used is None or not updates else round(self.used * 1000 / updates, 2)


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def office_hours_offset(now: dt.datetime | None = None) -> float:
    """Seconds to add to the desk clock so it reads next Monday 10:00 Shanghai (engineers on duty)."""
    tz = ZoneInfo("Asia/Shanghai")
    real = now or dt.datetime.now(tz)
    monday = (real + dt.timedelta(days=7 - real.weekday())).replace(hour=10, minute=0, second=0, microsecond=0)
    return (monday - real).total_seconds()


def run_main(coro: Any) -> int:
    """``asyncio.run`` that also cleans up (stops the child processes) on SIGTERM."""

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    return int(asyncio.run(coro))


async def wait_drained(db_path: Path, timeout: float) -> dict[str, int]:
    """Until the bot's inbox and outbox hold no pending row (or the timeout); what is left.

    After a kill -9 the rows the dead process had claimed wait out their claim (outbox: 30 s),
    and a busy chat's queued updates are processed one after the other: give it time.
    """
    import sqlite3

    deadline = time.monotonic() + timeout
    while True:
        con = sqlite3.connect(db_path)
        try:
            left = {
                "inbox": con.execute("SELECT count(*) FROM inbox WHERE status = 'pending'").fetchone()[0],
                "outbox": con.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0],
            }
        finally:
            con.close()
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.5)


# --------------------------------------------------------------------------------- processes


class Procs:
    """The sandbox process, the database and bot processes started from it; all stopped on exit."""

    def __init__(self, workdir: Path, *, delay_ms: float = 50.0) -> None:
        self.workdir = workdir
        self.delay_ms = delay_ms
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path = workdir / "desk.db"
        self.db_url = f"sqlite+aiosqlite:///{self.db_path}"
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.bot: subprocess.Popen[bytes] | None = None
        self.bot_env: dict[str, str] = {}
        self.starts = 0

    def _python(self, *args: str, env: dict[str, str] | None = None, log: str) -> subprocess.Popen[bytes]:
        out = open(self.workdir / log, "ab")  # noqa: SIM115  (kept open for the child)
        return subprocess.Popen(
            [sys.executable, "-m", *args], cwd=self.workdir, env=env or os.environ.copy(),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    async def start_sandbox(self) -> None:
        """``sdbot sandbox`` on a free port, then the configured Bot API delay."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.sandbox = self._python("bot", "sandbox", "--port", str(self.port), env=env, log="sandbox.log")
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(self.url + "/sandbox/health") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.05)
            else:
                raise SystemExit("sandbox did not start; see " + str(self.workdir / "sandbox.log"))
            async with http.post(self.url + "/sandbox/config", json={"delay_ms": self.delay_ms}) as r:
                r.raise_for_status()

    def prepare_db(self) -> None:
        """Migrate a fresh SQLite file and load the demo data (``sdbot demo``)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": self.db_url}
        subprocess.run([sys.executable, "-m", "bot", "demo"], cwd=self.workdir, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    def configure_bot(self, **settings: Any) -> None:
        """Environment of ``sdbot run``: the sandbox as Bot API, the temp database, ``settings``."""
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "BOT_API_BASE_URL": self.url + "/bot",
            "BOT_API_FILE_URL": self.url + "/file/bot",
            "DATABASE_URL": self.db_url,
            "LOG_LEVEL": "WARNING",
            "CLOCK_OFFSET_SECONDS": str(office_hours_offset()),
            "BOT_API_MAX_RATE": "100000",  # the sandbox is not Telegram: measure the bot itself
            "BOT_API_CHAT_PACING": "false",
            "FLOOD_MAX_MESSAGES": "1000000",  # engineers press hundreds of ack buttons a minute
            "POLICY_FILE": str(independent_faults_policy(self.workdir)),
        }
        env.update({k.upper(): str(v) for k, v in settings.items()})
        self.bot_env = env

    def start_bot(self, module: tuple[str, ...] = ("bot", "run")) -> subprocess.Popen[bytes]:
        """Start the bot process (no waiting: the sandbox keeps updates until it polls)."""
        self.bot = self._python(*module, env=self.bot_env, log="bot.log")
        self.starts += 1
        return self.bot

    async def wait_polling(self, http: aiohttp.ClientSession, timeout: float = 60) -> float:
        """Seconds until the bot has called getUpdates (it is up)."""
        began = time.monotonic()
        base = await self.calls(http, "getUpdates")
        while time.monotonic() - began < timeout:
            if await self.calls(http, "getUpdates") > base:
                return time.monotonic() - began
            if self.bot is not None and self.bot.poll() is not None:
                raise SystemExit(f"bot exited with {self.bot.returncode}; see {self.workdir / 'bot.log'}")
            await asyncio.sleep(0.05)
        raise SystemExit("bot did not start polling")

    async def calls(self, http: aiohttp.ClientSession, method: str) -> int:
        async with http.get(self.url + "/sandbox/stats") as r:
            return int((await r.json())["calls"].get(method, 0))

    def kill_bot(self) -> None:
        """kill -9 the bot process."""
        if self.bot is not None and self.bot.poll() is None:
            os.kill(self.bot.pid, signal.SIGKILL)
            self.bot.wait(10)
        self.bot = None

    def stop_bot(self, timeout: float = 20) -> float | None:
        """SIGINT the bot (clean shutdown); returns its peak RSS in MB measured just before."""
        proc, self.bot = self.bot, None
        if proc is None:
            return None
        rss = peak_rss_mb(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return rss

    def close(self) -> None:
        """Stop everything this object started."""
        self.stop_bot(5)
        if self.sandbox is not None and self.sandbox.poll() is None:
            self.sandbox.send_signal(signal.SIGINT)
            try:
                self.sandbox.wait(5)
            except subprocess.TimeoutExpired:
                self.sandbox.kill()
        self.sandbox = None


# --------------------------------------------------------------------------------- the users


class Api:
    """The sandbox's control API, as the users see it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
        )
        self.pace: Callable[[], Any] | None = None  # awaited before every user action (offered rate)
        self.actions = 0

    async def close(self) -> None:
        await self.http.close()

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.url + path, json=body) as r:
            data = await r.json()
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {data}")
            return data

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        async with self.http.get(self.url + path, params=params) as r:
            data = await r.json()
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {data}")
            return data

    async def _paced(self) -> float:
        if self.pace is not None:
            await self.pace()
        self.actions += 1
        return time.perf_counter()

    async def send(self, user_id: int, text: str | None = None, **extra: Any) -> float:
        """Send as ``user_id``; returns perf_counter just before the update was handed over."""
        body = {"user_id": user_id, "language_code": "zh", "first_name": f"U{user_id}", **extra}
        if text is not None:
            body["text"] = text
        t0 = await self._paced()
        await self.post("/sandbox/send", body)
        return t0

    async def press(self, user_id: int, message_id: int, data: str) -> float:
        t0 = await self._paced()
        await self.post("/sandbox/press", {"user_id": user_id, "message_id": message_id, "data": data})
        return t0

    async def read(self, user_id: int, since: int, wait: float) -> tuple[list[dict[str, Any]], int]:
        data = await self.get("/sandbox/messages", user_id=user_id, since=since, wait=wait)
        return data["messages"], int(data.get("last_id") or since)

    async def stats(self) -> dict[str, Any]:
        return await self.get("/sandbox/stats")


class RatePacer:
    """Hands out action slots at ``rate`` per second (the offered-rate mode)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.perf_counter()
        self.lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self.lock:
            now = time.perf_counter()
            self.next = max(self.next + self.interval, now)
            wait = self.next - now
        if wait > 0:
            await asyncio.sleep(wait)


def buttons_of(msg: dict[str, Any]) -> list[str]:
    return [b.get("data") or "" for row in msg.get("buttons") or [] for b in row]


def has_button(msg: dict[str, Any], prefix: str) -> bool:
    return any(d.startswith(prefix) for d in buttons_of(msg))


def first_button(msg: dict[str, Any], prefix: str, exclude: str = ":none") -> str:
    for d in buttons_of(msg):
        if d.startswith(prefix) and not d.endswith(exclude):
            return d
    return next(d for d in buttons_of(msg) if d.startswith(prefix))


@dataclass
class Customer:
    """One simulated customer: its own read cursor, latencies and outcome."""

    user_id: int
    seen: int = 0
    latencies: list[float] = field(default_factory=list)
    ticket: str | None = None
    submitted_at: float | None = None
    step: str = "start"
    submits: int = 0
    tickets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


Predicate = Callable[[dict[str, Any]], bool]


async def expect(api: Api, c: Customer, t0: float, pred: Predicate, timeout: float,
                 settle: float = 0.0) -> dict[str, Any]:
    """Read ``c``'s new messages until one matches ``pred``; records update→first-reply latency.

    With ``settle``, keep reading until nothing more arrives for that long and return the last
    message (for a step whose prompt is plain text, told apart by nothing else).
    """
    first = True
    deadline = time.perf_counter() + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"user {c.user_id} at step {c.step}")
        msgs, c.seen = await api.read(c.user_id, c.seen, min(left, 30))
        if msgs and first:
            c.latencies.append(time.perf_counter() - t0)
            first = False
        for m in msgs:
            if not m.get("edited") and pred(m):
                return await _settled(api, c, m, settle) if settle else m


async def _settled(api: Api, c: Customer, last: dict[str, Any], settle: float) -> dict[str, Any]:
    while True:
        msgs, c.seen = await api.read(c.user_id, c.seen, settle)
        fresh = [m for m in msgs if not m.get("edited")]
        if not msgs:
            return last
        if fresh:
            last = fresh[-1]


def _nth(n: int, pred: Predicate, also: Predicate) -> Predicate:
    """True on the ``n``-th message matching ``pred``, or on any matching ``also``."""
    seen = [0]

    def check(m: dict[str, Any]) -> bool:
        seen[0] += pred(m)
        return seen[0] >= n or also(m)

    return check


def _contact_prompt(m: dict[str, Any]) -> bool:
    kb = m.get("reply_keyboard") or []
    return any(b.get("request_contact") for row in kb for b in row) or has_button(m, "rp:eq:")


async def report(api: Api, c: Customer, *, timeout: float = 120, ident: str = "C1001",
                 phone: str = PHONE, severity: str = "down") -> str:
    """The complete fault report of a verified customer; returns the ticket number.

    A customer whose account is already linked (a second report) skips identification.
    """
    uid = c.user_id
    c.step = "report"
    if c.submits:  # linked by the first report's shared phone: straight to the equipment
        opened: Predicate = lambda x: has_button(x, "rp:eq:")  # noqa: E731
    else:  # the intro, then the question for the customer number (plain text)
        opened = _nth(2, lambda x: True, also=lambda x: has_button(x, "rp:eq:") or has_button(x, "rp:cust:"))
    m = await expect(api, c, await api.send(uid, "/report"), opened, timeout)
    if not has_button(m, "rp:eq:"):
        if has_button(m, "rp:cust:"):
            c.step = "pick"
            m = await expect(api, c, await api.press(uid, m["id"], first_button(m, "rp:cust:")),
                             _contact_prompt, timeout)
        else:
            c.step = "ident"
            m = await expect(api, c, await api.send(uid, ident), _contact_prompt, timeout)
        if not has_button(m, "rp:eq:"):
            c.step = "contact"
            m = await expect(api, c, await api.send(uid, contact={"phone_number": phone}),
                             lambda x: has_button(x, "rp:eq:"), timeout)
    c.step = "equipment"
    await expect(api, c, await api.press(uid, m["id"], first_button(m, "rp:eq:")),
                 lambda x: not has_button(x, "rp:eq:"), timeout)
    c.step = "symptom"
    m = await expect(api, c, await api.send(uid, SYMPTOM), lambda x: has_button(x, "rp:sev:"), timeout)
    c.step = "severity"
    m = await expect(api, c, await api.press(uid, m["id"], f"rp:sev:{severity}"),
                     lambda x: has_button(x, "rp:submit"), timeout)
    c.step = "submit"
    t0 = await api.press(uid, m["id"], "rp:submit")
    c.submitted_at = t0
    c.submits += 1
    m = await expect(api, c, t0, lambda x: TICKET_RE.search(x.get("text") or "") is not None, timeout)
    c.ticket = TICKET_RE.search(m["text"]).group(0)  # type: ignore[union-attr]
    c.tickets.append(c.ticket)
    c.step = "done"
    return c.ticket


class Engineers:
    """Staff chats: long-poll them, note when each dispatch card arrives, press its ack button."""

    def __init__(self, api: Api, ids: tuple[int, ...] = STAFF_IDS, *, acknowledge: bool = True,
                 relay: bool = False) -> None:
        self.api = api
        self.ids = ids
        self.acknowledge = acknowledge
        self.relay = relay  # after acknowledging, reply to the card: a message relayed to the customer
        self.relayed: dict[str, str] = {}  # ticket number -> the text the engineer sent its customer
        self.cards: dict[str, float] = {}  # ticket number -> perf_counter of first card
        self.card_count: dict[str, int] = {}  # ticket number -> dispatch cards seen (duplicates)
        self.acks = 0
        self.messages: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._cursor: dict[int, int] = {i: 0 for i in ids}

    async def greet(self) -> None:
        """Each staff member opens their chat (/start), as in real life."""
        for uid in self.ids:
            c = Customer(uid)
            await expect(self.api, c, await self.api.send(uid, "/start"), lambda m: True, 120)
            self._cursor[uid] = c.seen

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._watch(uid)) for uid in self.ids]

    async def stop(self) -> None:
        self._stop.set()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _watch(self, uid: int) -> None:
        pending: set[asyncio.Task[None]] = set()
        while not self._stop.is_set():
            try:
                msgs, self._cursor[uid] = await self.api.read(uid, self._cursor[uid], 5)
            except (aiohttp.ClientError, RuntimeError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            now = time.perf_counter()
            for m in msgs:
                self.messages[uid].append(m)
                if m.get("edited"):
                    continue
                acks = [d for d in buttons_of(m) if d.startswith("dp:ack:")]
                number = TICKET_RE.search(m.get("text") or "")
                if not acks or number is None:
                    continue
                key = number.group(0)
                self.cards.setdefault(key, now)
                self.card_count[key] = self.card_count.get(key, 0) + 1
                if self.acknowledge and self.card_count[key] == 1:
                    task = asyncio.create_task(self._ack(uid, m["id"], acks[0], key))
                    pending.add(task)
                    task.add_done_callback(pending.discard)

    async def _ack(self, uid: int, message_id: int, data: str, number: str) -> None:
        with contextlib.suppress(aiohttp.ClientError, RuntimeError, TimeoutError):
            await self.api.press(uid, message_id, data)
            self.acks += 1
            if self.relay:  # answered after the ack (the chat's updates are processed in order)
                text = f"relay check {number}"
                await self.api.send(uid, text, reply_to_message_id=message_id)
                self.relayed[number] = text


# --------------------------------------------------------------------------------- boot


@dataclass
class Desk:
    """A desk booted by ``desk_up``: its processes, the sandbox API and the engineers' chats."""

    procs: Procs
    api: Api
    engineers: Engineers


@contextlib.asynccontextmanager
async def desk_up(
    workdir: Path, *, delay_ms: float, acknowledge: bool = True, relay: bool = False, **settings: Any
) -> AsyncIterator[Desk]:
    """The boot sequence of the benchmarks and reliability tests: the sandbox, a migrated demo
    database, ``sdbot run`` (with ``settings``) polling, the engineers greeted and answering.
    On exit the API session is closed and every process stopped."""
    procs = Procs(workdir, delay_ms=delay_ms)
    api: Api | None = None
    try:
        await procs.start_sandbox()
        api = Api(procs.url)
        procs.prepare_db()
        procs.configure_bot(**settings)
        procs.start_bot()
        await procs.wait_polling(api.http)
        engineers = Engineers(api, acknowledge=acknowledge, relay=relay)
        await engineers.greet()  # before any fault or report: staff chats must exist
        engineers.start()
        yield Desk(procs, api, engineers)
    finally:
        if api is not None:
            with contextlib.suppress(Exception):
                await api.close()
        procs.close()
