"""Throughput of one vs two bot instances in webhook mode on one PostgreSQL database.

Each instance is a separate ``sdbot run --webhook`` process; the sandbox (in this process) is the
Bot API. USERS customers each send MESSAGES commands; this script then plays Telegram, posting the
updates over ``--connections`` parallel webhook requests spread round-robin over the instances,
and times until every update has been answered and prints updates/s per instance count as JSON —
once with each instance's outbound limit at Telegram's 30 messages/s (BOT_API_MAX_RATE, the
default), once lifted to show the processing capacity.

    TEST_DATABASE_URL=postgresql+asyncpg://sdbot:sdbot@127.0.0.1:5432/sdbot_test \\
        python -m benchmarks.webhook_instances [--users 200] [--messages 3] [--delay-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import aiohttp

from bot.runtime.webhook import SECRET_HEADER
from bot.sandbox import SandboxServer
from tests.harness import TOKEN
from tests.pgdb import PgTemplate

SECRET = "bench-secret_0123456789"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit(f"instance on port {port} exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"instance on port {port} never became healthy")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spawn(
    db_url: str, sandbox: SandboxServer, port: int, max_rate: float
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "BOT_API_BASE_URL": sandbox.bot_base_url,
        "BOT_API_FILE_URL": sandbox.file_base_url,
        "DATABASE_URL": db_url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "BOT_API_MAX_RATE": str(max_rate),
    }
    env.pop("WEBHOOK_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--webhook"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def probe(template: PgTemplate, instances: int, users: int, messages: int,
                delay_ms: float, max_rate: float, connections: int) -> dict[str, float]:
    """Start ``instances`` processes on a fresh database and time the load."""
    db_url = await template.fresh()
    sandbox = SandboxServer(port=0)
    await sandbox.start()
    sandbox.world.delay_ms = delay_ms
    procs: list[subprocess.Popen[bytes]] = []
    try:
        demo = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "demo", cwd=ROOT,
            env={**os.environ, "DATABASE_URL": db_url}, stdout=subprocess.DEVNULL,
        )
        if await demo.wait() != 0:
            raise SystemExit("loading the demo data failed")
        ports = [_free_port() for _ in range(instances)]
        procs = [_spawn(db_url, sandbox, p, max_rate) for p in ports]
        for port, proc in zip(ports, procs, strict=True):
            await _wait_ready(port, proc)
        targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
        total = users * messages
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections)
        ) as http:
            async def user(uid: int) -> None:
                for n in range(messages):
                    body = {"user_id": uid, "language_code": "en", "first_name": f"U{uid}",
                            "text": "/help" if n % 2 else "/start"}
                    async with http.post(sandbox.url + "/sandbox/send", json=body) as resp:
                        assert resp.status == 200

            # the updates wait in the sandbox; then we play Telegram: `connections` parallel
            # webhook requests, spread round-robin over the instances by the "load balancer"
            await asyncio.gather(*(user(800000 + i) for i in range(users)))
            queue = deque(u.payload for u in sandbox.world.updates)
            sandbox.world.updates.clear()
            turn = itertools.count()

            async def deliver() -> None:
                while queue:
                    payload = queue.popleft()
                    while True:
                        url = targets[next(turn) % len(targets)]
                        async with http.post(url, json=payload,
                                             headers={SECRET_HEADER: SECRET}) as resp:
                            if resp.status == 200:
                                break
                        await asyncio.sleep(0.05)

            cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
            started = time.monotonic()
            await asyncio.gather(*(deliver() for _ in range(connections)))
            delivered = time.monotonic() - started

            async def sent() -> int:
                async with http.get(sandbox.url + "/sandbox/stats") as resp:
                    return int((await resp.json())["calls"].get("sendMessage", 0))

            done = 0
            while time.monotonic() - started < 600:
                done = await sent()
                if done >= total:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
            cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
        if done < total:
            raise SystemExit(f"only {done} of {total} updates answered")
        return {"instances": instances, "bot_api_max_rate": max_rate, "updates": total,
                "seconds": round(elapsed, 2), "all_delivered_s": round(delivered, 2),
                "updates_per_s": round(total / elapsed, 1),
                "instance_cpu_ms_per_update": round(1000 * cpu / total, 1)}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        await sandbox.stop()
        await template.drop(db_url)


async def main_async(args: argparse.Namespace) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        raise SystemExit("set TEST_DATABASE_URL to a postgresql+asyncpg URL (role with CREATEDB)")
    template = PgTemplate(url)
    await template.create()
    try:
        results = [
            await probe(template, n, args.users, args.messages, args.delay_ms, rate,
                        args.connections)
            for rate in (30.0, 1000.0)
            for n in (1, 2)
        ]
    finally:
        await template.destroy()
    print(json.dumps({"cpus": os.cpu_count(), "delay_ms": args.delay_ms, "runs": results}))


def main() -> None:
    """Parse arguments and run both configurations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=40,
                        help="parallel webhook requests (Telegram's max_connections)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
