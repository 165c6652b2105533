"""``newswire bench ingest``: feeds polled per second, cold (200s, parsed and stored) and warm (304s), against
local feed servers with many virtual hosts on 127.0.0.1 (one port per host), and in the same run a bare httpx
async loop over the same URLs (conditional, so 304s too) as the ceiling.

The polls run the real code (services.ingest.poll.poll_source: store, Redis due set and seen set, politeness
slots, conditional GET, parsing, health) from a pool of threads in this process; handing items on to the
clean queue is not part of it. A throwaway Redis and SQLite are used unless --database-url names another
store (PostgreSQL). Per-host limits are lifted by default (the servers are ours); --host-rate puts them back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import typer

# ------------------------------------------------------------------------------ the feed server (a child process)
FEED_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
             'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Bench feed {n}</title>'
             '<link>http://bench.invalid/{n}/</link><description>Feed {n} of the ingest benchmark</description>')
FEED_ITEM = ('<item><title>Story {i} of feed {n}: a headline of ordinary length</title>'
             '<link>http://bench.invalid/{n}/story-{i}.html</link><guid>bench-{n}-{i}</guid>'
             '<pubDate>{date}</pubDate><description>A summary of story {i}, two sentences long. It says what '
             'happened.</description><content:encoded><![CDATA[<p>{body}</p>]]></content:encoded></item>')


def feed_body(n: int, items: int) -> bytes:
    base = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    body = " ".join(f"Sentence {k} of the story, with some words in it." for k in range(12))
    parts = [FEED_HEAD.format(n=n)]
    for i in range(items):
        date = (base - timedelta(minutes=37 * i + n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        parts.append(FEED_ITEM.format(n=n, i=i, date=date, body=body))
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


async def _serve(ports: int, feeds: int, items: int) -> None:
    cache: dict[int, tuple[bytes, bytes]] = {}

    def document(n: int) -> tuple[bytes, bytes]:
        if n not in cache:
            body = feed_body(n, items)
            cache[n] = (body, ('"' + hashlib.sha256(body).hexdigest()[:20] + '"').encode())
        return cache[n]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1] if len(lines[0].split(b" ")) > 1 else b"/"
                etag_given = None
                for line in lines[1:]:
                    if line[:14].lower() == b"if-none-match:":
                        etag_given = line[14:].strip()
                try:
                    n = int(path.rsplit(b"/", 1)[-1].split(b".")[0])
                except ValueError:
                    n = -1
                if not 0 <= n < feeds:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    body, etag = document(n)
                    if etag_given == etag:
                        writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\nContent-Length: 0\r\n\r\n")
                    else:
                        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                                     b"ETag: " + etag + b"\r\nContent-Length: " + str(len(body)).encode()
                                     + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024) for _ in range(ports)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def start_feed_server(ports: int, feeds: int, items: int) -> tuple[subprocess.Popen, list[int]]:
    process = subprocess.Popen([sys.executable, "-m", "newswire.bench_ingest", str(ports), str(feeds), str(items)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("the bench feed server did not start")
    return process, json.loads(line)


# ------------------------------------------------------------------------------ the measurement
def _bare(urls: list[str], etags: list[str | None], concurrency: int) -> tuple[float, dict[int, int]]:
    import httpx

    statuses: dict[int, int] = {}

    async def run() -> float:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:
            queue: asyncio.Queue = asyncio.Queue()
            for pair in zip(urls, etags):
                queue.put_nowait(pair)

            async def worker() -> None:
                while not queue.empty():
                    url, etag = queue.get_nowait()
                    response = await client.get(url, headers={"If-None-Match": etag} if etag else {})
                    await response.aread()
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - started

    return asyncio.run(run()), statuses


def _pass(source_ids: list[int], concurrency: int) -> tuple[float, dict[str, int]]:
    from services.ingest.poll import poll_source

    counts: dict[str, int] = {}

    def one(source_id: int) -> str:
        outcome = poll_source(source_id)
        return outcome.status if outcome.status != "failed" else f"failed: {outcome.error}"[:120]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for status in pool.map(one, source_ids):
            counts[status] = counts.get(status, 0) + 1
    return time.perf_counter() - started, counts


def run_ingest_bench(feeds: int = 2000, hosts: int = 100, items: int = 20, concurrency: int = 16,
                     database_url: str | None = None, host_rate: float = 0.0) -> dict[str, Any]:
    from newswire.embedded import override_environment
    from shared.redis_server import start_redis
    from shared.store import session_scope, upgrade_schema
    from shared.store.models import Source

    folder = Path(tempfile.mkdtemp(prefix="newswire-bench-ingest-"))
    redis_process, redis_url = start_redis(folder)
    server, ports = start_feed_server(hosts, feeds, items)
    url = database_url or f"sqlite:///{folder / 'ingest.db'}"
    env = {"REDIS_URL": redis_url, "DATABASE_URL": url, "NEWSWIRE_DATA_DIR": str(folder),
           "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32", "NEWSWIRE_INGEST_HOST_RATE": str(host_rate),
           "NEWSWIRE_INGEST_HOST_CONCURRENCY": str(concurrency if not host_rate else 2),
           "NEWSWIRE_INGEST_POLITENESS_WAIT": "600"}
    try:
        with override_environment(env):
            upgrade_schema(url)
            urls = [f"http://127.0.0.1:{ports[n % len(ports)]}/feeds/{n}.xml" for n in range(feeds)]
            now = datetime.now(timezone.utc)
            with session_scope() as session:
                rows = [Source(kind="feed", url=u, status="active", interval_seconds=900, next_fetch_at=now,
                               options={"full_text": "never"}) for u in urls]
                session.add_all(rows)
                session.flush()
                source_ids = [row.id for row in rows]
            _bare(urls[: min(50, feeds)], [None] * min(50, feeds), concurrency)  # warm the server's feed cache
            cold_seconds, cold_counts = _pass(source_ids, concurrency)
            warm_seconds, warm_counts = _pass(source_ids, concurrency)
            with session_scope() as session:
                etags = {row.id: row.etag for row in session.query(Source).filter(Source.id.in_(source_ids))}
                from sqlalchemy import func, select

                from shared.store.models import SourceEntry

                entries = session.execute(select(func.count()).select_from(SourceEntry)).scalar_one()
            bare_seconds, bare_counts = _bare(urls, [etags[i] for i in source_ids], concurrency)
    finally:
        server.terminate()
        redis_process.terminate()
        server.wait(timeout=10)
        redis_process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    cold = feeds / cold_seconds
    warm = feeds / warm_seconds
    bare = feeds / bare_seconds
    return {
        "feeds": feeds, "hosts": len(ports), "items_per_feed": items, "concurrency": concurrency,
        "database": url.split(":", 1)[0], "host_rate": host_rate,
        "cold_feeds_per_s": round(cold, 1), "warm_feeds_per_s": round(warm, 1), "bare_feeds_per_s": round(bare, 1),
        "warm_ratio": round(warm / bare, 3),
        "cold_seconds": round(cold_seconds, 2), "warm_seconds": round(warm_seconds, 2),
        "bare_seconds": round(bare_seconds, 2), "entries_stored": entries,
        "cold_outcomes": cold_counts, "warm_outcomes": warm_counts, "bare_statuses": bare_counts,
        "cpus": os.cpu_count(),
    }


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("ingest")
    def bench_ingest(
        feeds: int = typer.Option(2000, "--feeds", help="Feeds (sources) to poll"),
        hosts: int = typer.Option(100, "--hosts", help="Virtual hosts (one port each on 127.0.0.1)"),
        items: int = typer.Option(20, "--items", help="Entries per feed"),
        concurrency: int = typer.Option(16, "--concurrency", help="Polls at once (threads), and the bare loop's"),
        database_url: str = typer.Option(None, "--database-url", help="Store to use (default: a throwaway SQLite)"),
        host_rate: float = typer.Option(0.0, "--host-rate", help="Per-host requests/s (0: limits lifted)"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    ) -> None:
        """Feeds polled per second, cold and warm (304s), beside a bare httpx async loop on the same URLs."""
        result = run_ingest_bench(feeds, hosts, items, concurrency, database_url, host_rate)
        if as_json:
            print(json.dumps(result))
            return
        for key, value in result.items():
            print(f"{key:18} {value}")
        print(f"\nwarm pass {result['warm_ratio']:.2f}x of the bare loop (aim: within 2x, i.e. >= 0.5)")


if __name__ == "__main__":  # the feed server: python -m newswire.bench_ingest PORTS FEEDS ITEMS
    asyncio.run(_serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
