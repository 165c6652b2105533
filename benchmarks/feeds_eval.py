"""Score feed parsing on the labelled real-world feeds in ../shared/eval/feeds: title, link and date per entry.

    .venv/bin/python benchmarks/feeds_eval.py [--data ../shared/eval/feeds] [--json] [--verbose]

Parses each file as ingest does (services.ingest.feeds.parse_feed, no content type, so sniffed). An entry counts
as reached when its title, link and date all match its label; a label date without "Z" is compared as wall-clock.
With --served the feeds are served over HTTP on 127.0.0.1 and ingested as sources (the real poll, a temporary
Redis and SQLite), and each labelled entry must come out of the source's article list with its title, link, date.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def normal_title(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", value or "").split())


def date_matches(value: datetime | None, label: str | None) -> bool:
    if label is None:
        return value is None
    if value is None:
        return False
    if label.endswith("Z"):
        if value.tzinfo is None:
            return False
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") == label
    return value.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S") == label


def entry_matches(title: str | None, link: str | None, published: datetime | None, label: dict) -> dict[str, bool]:
    return {
        "title": normal_title(title) == normal_title(label["title"]),
        "link": (link or None) == label["link"],
        "date": date_matches(published, label["published"]),
    }


def score(data: Path, verbose: bool = False) -> dict:
    from services.ingest.feeds import parse_feed

    feeds = [json.loads(line) for line in (data / "feeds.jsonl").read_text(encoding="utf-8").splitlines() if line]
    per_format: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses = []
    for feed in feeds:
        body = (data / "feeds" / feed["file"]).read_bytes()
        counts = per_format[feed["format"]]
        counts["feeds"] += 1
        counts["entries"] += feed["entries"]
        try:
            parsed = parse_feed(body, "http://feeds.invalid/" + feed["file"])
            entries = parsed.entries
        except ValueError as exc:
            entries = []
            if feed["entries"]:
                misses.append({"feed": feed["id"], "error": str(exc)})
        counts["count_right"] += len(entries) == feed["entries"]
        for entry, label in zip(entries, feed["items"]):
            result = entry_matches(entry.title, entry.link, entry.published, label)
            for key, ok in result.items():
                counts[key] += ok
            if all(result.values()):
                counts["reached"] += 1
            elif verbose and len(misses) < 60:
                misses.append({"feed": feed["id"], "wrong": [k for k, ok in result.items() if not ok],
                               "got": [entry.title, entry.link, str(entry.published)],
                               "label": [label["title"], label["link"], label["published"]]})
    total = {key: sum(c[key] for c in per_format.values()) for key in ("feeds", "entries", "reached", "title", "link", "date", "count_right")}
    return {"per_format": {fmt: dict(c) | {"share": round(c["reached"] / c["entries"], 4) if c["entries"] else 1.0}
                           for fmt, c in sorted(per_format.items())},
            "total": total | {"share": round(total["reached"] / total["entries"], 4)}, "misses": misses}


def serve_corpus(data: Path):  # noqa: ANN201
    """The corpus files over HTTP on 127.0.0.1 (a thread); returns (server, base URL)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files = {path.name: path.read_bytes() for path in (data / "feeds").iterdir()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # noqa: ANN002
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path.rsplit("/", 1)[-1])
            status = 200 if body is not None else 404
            body = body if body is not None else b"not found"
            kind = "application/feed+json" if self.path.endswith(".json") else "application/xml"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/feeds/"


def score_served(data: Path, verbose: bool = False) -> dict:
    """Served over HTTP and ingested as sources (poll in this process, Redis and store as configured): every
    labelled entry must come out of GET /sources/{id}/articles (services.ingest.sources.articles) with its
    title, link and date."""
    from services.ingest import sources
    from services.ingest.poll import poll_source

    feeds = [json.loads(line) for line in (data / "feeds.jsonl").read_text(encoding="utf-8").splitlines() if line]
    server, base = serve_corpus(data)
    per_format: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses = []
    try:
        for feed in feeds:
            counts = per_format[feed["format"]]
            counts["feeds"] += 1
            counts["entries"] += feed["entries"]
            url = base + feed["file"]
            existing = sources.list_sources(q=url)["items"]
            source_id = existing[0]["id"] if existing else sources.add(url, kind="feed", options={"full_text": "never"})["id"]
            outcome = poll_source(source_id)
            if outcome.status == "failed" and feed["entries"]:
                misses.append({"feed": feed["id"], "error": outcome.error})
            got = sources.articles(source_id, limit=5000)["items"]
            pool = [(row["title"], row["url"], row["published"]) for row in got]
            for label in feed["items"]:
                wanted = (normal_title(label["title"]), label["link"], label["published"])
                match = next((row for row in pool if (normal_title(row[0]), row[1], row[2]) == wanted), None)
                if match is not None:
                    pool.remove(match)
                    counts["reached"] += 1
                elif verbose and len(misses) < 60:
                    misses.append({"feed": feed["id"], "label": list(wanted)})
    finally:
        server.shutdown()
    total = {key: sum(c[key] for c in per_format.values()) for key in ("feeds", "entries", "reached")}
    return {"per_format": {fmt: dict(c) | {"share": round(c["reached"] / c["entries"], 4) if c["entries"] else 1.0}
                           for fmt, c in sorted(per_format.items())},
            "total": total | {"share": round(total["reached"] / total["entries"], 4)}, "misses": misses}


def _served_in_temporary_store(data: Path, verbose: bool) -> dict:
    import tempfile

    from newswire.embedded import override_environment
    from shared.redis_server import start_redis
    from shared.store import upgrade_schema

    with tempfile.TemporaryDirectory() as folder:
        process, redis_url = start_redis(Path(folder))
        env = {"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{folder}/eval.db",
               "NEWSWIRE_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32", "NEWSWIRE_INGEST_HOST_RATE": "0",
               "NEWSWIRE_INGEST_HOST_CONCURRENCY": "16"}
        try:
            with override_environment(env):
                upgrade_schema()
                return score_served(data, verbose)
        finally:
            process.terminate()
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "feeds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--served", action="store_true",
                        help="Serve the feeds over HTTP and ingest them as sources (temporary Redis and SQLite)")
    args = parser.parse_args()
    result = _served_in_temporary_store(args.data, args.verbose) if args.served else score(args.data, args.verbose)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"{'format':12} {'feeds':>5} {'entries':>7} {'reached':>7} {'share':>7}  title  link  date")
    for fmt, c in list(result["per_format"].items()) + [("all", result["total"])]:
        parts = "" if args.served else f"  {c['title']:5} {c['link']:5} {c['date']:5}"
        print(f"{fmt:12} {c['feeds']:5} {c['entries']:7} {c['reached']:7} {c['share']:7.2%}{parts}")
    for miss in result["misses"]:
        print("MISS", json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()
