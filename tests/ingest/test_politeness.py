"""Per-host politeness shared through Redis: several worker processes never exceed K requests in flight or R per
second to one host (measured on the server), robots.txt is obeyed for discovered pages, the User-Agent names us."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

from feedserver import settings_env

WORKER = textwrap.dedent("""
    import sys
    from services.ingest import fetcher
    url, count, concurrency, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # Warm up on another host name first (client set up, address resolved), so the slots measured are the requests'.
    fetcher.fetch(sys.argv[5], options={"host_concurrency": 16, "host_rate": 0})
    for _ in range(count):
        fetcher.fetch(url, options={"host_concurrency": int(concurrency), "host_rate": float(rate)})
""")


def _workers(url: str, processes: int, each: int, concurrency: int, rate: float, warm: str) -> None:
    env = dict(os.environ)
    running = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(each), str(concurrency), str(rate), warm],
                                env=env)
               for _ in range(processes)]
    for process in running:
        assert process.wait(timeout=120) == 0


def test_at_most_k_in_flight_per_host_across_worker_processes(ingest_env, feeds) -> None:  # noqa: ANN001
    path = f"/{uuid.uuid4().hex[:8]}/slow.xml"
    url = feeds.add(path, "<rss/>", delay=0.3, conditional=False)
    _workers(url.replace("127.0.0.1", "localhost"), processes=4, each=4, concurrency=2, rate=0, warm=url)
    hits = [hit for hit in feeds.hits_of(path) if hit.host == "localhost"]
    assert len(hits) == 16
    assert feeds.max_in_flight["localhost"] == 2  # the cap held, and the four workers did overlap up to it


def test_at_most_r_per_second_per_host_across_worker_processes(ingest_env, feeds) -> None:  # noqa: ANN001
    path = f"/{uuid.uuid4().hex[:8]}/rated.xml"
    url = feeds.add(path, "<rss/>", conditional=False)
    _workers(url, processes=3, each=4, concurrency=10, rate=5.0, warm=url.replace("127.0.0.1", "localhost"))
    starts = sorted(hit.at for hit in feeds.hits_of(path) if hit.host == "127.0.0.1")
    assert len(starts) == 12
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) > 0.1  # 1/R = 0.2 s between slots, whichever worker takes them (arrival adds a little noise)
    assert starts[-1] - starts[0] >= 11 * 0.2 * 0.9


def test_robots_txt_obeyed_for_discovered_pages_and_cached(ingest_env, feeds) -> None:  # noqa: ANN001
    from shared.errors import PermanentError
    from services.ingest import fetcher, robots

    token = uuid.uuid4().hex[:8]
    host = "localhost"  # a host name of its own (its own robots.txt cache entry), still the same server
    from shared.redis_client import get_redis

    get_redis().delete(f"newswire:robots:http://localhost:{feeds.port}")
    feeds.add("/robots.txt", "User-agent: Newswire\nDisallow: /private/\n\nUser-agent: *\nDisallow:\n",
              content_type="text/plain", conditional=False)
    allowed = feeds.add(f"/public/{token}.html", "<html><body><p>ok</p></body></html>", content_type="text/html")
    blocked = feeds.url(f"/private/{token}.html", host=host)
    feeds.add(f"/private/{token}.html", "<html><body><p>secret</p></body></html>", content_type="text/html")
    with settings_env(allow_private_networks="127.0.0.1/32,::1/128"):
        assert fetcher.fetch(allowed.replace("127.0.0.1", host), check_robots=True).status == 200
        try:
            fetcher.fetch(blocked, check_robots=True)
        except PermanentError as exc:
            assert "robots.txt" in str(exc)
        else:
            raise AssertionError("a page robots.txt disallows was fetched")
        assert robots.allowed(blocked) is False
    robots_hits = [hit for hit in feeds.hits_of("/robots.txt") if hit.host == host]
    assert len(robots_hits) == 1  # fetched once, then cached in Redis
    page_hits = feeds.hits_of(f"/public/{token}.html")
    assert page_hits[-1].headers["user-agent"].startswith("Newswire/")
    assert not feeds.hits_of(f"/private/{token}.html")
