"""Near-duplicates across sources: 64-bit SimHash of the text, banded for lookup in Redis.

The same story syndicated by several sites (新华社 copy on fifty portals, an AP story on a hundred papers) differs
in a line or two of furniture; its SimHash differs in a few bits. Four 16-bit bands are indexed: by the pigeonhole
principle two hashes within 3 bits of each other share at least one band exactly, so a lookup reads four Redis
sets and compares a handful of candidates. A near-duplicate of a known story takes that story's cluster id; a new
story starts its own cluster (its article id).

Written here rather than taken from `simhash`/`datasketch`: the hash is twenty lines, and the index has to live in
Redis (shared by every clean worker) with our key names and expiry, which neither library does.

Keys (prefix ``newswire:clean:``): ``sim:<band>:<value>`` sets of ``<article id>:<hash hex>``;
``cluster:<article id>`` the article's cluster id. Both expire after ``clean_near_duplicate_days``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]|[^\W_]+", re.UNICODE)
BANDS = 4
BAND_BITS = 16
PREFIX = "newswire:clean:"


def tokens(text: str) -> list[str]:
    """Each CJK character is a token, every other run of letters/digits is one (lower-cased)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def simhash(text: str, shingle: int = 4) -> int:
    """64-bit SimHash over shingles of ``shingle`` tokens (all tokens when the text is shorter)."""
    toks = tokens(text)
    if not toks:
        return 0
    grams = [" ".join(toks[i:i + shingle]) for i in range(max(1, len(toks) - shingle + 1))]
    weights = [0] * 64
    for gram in grams:
        value = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(value: int) -> list[int]:
    mask = (1 << BAND_BITS) - 1
    return [(value >> (i * BAND_BITS)) & mask for i in range(BANDS)]


@dataclass
class Match:
    cluster_id: str
    near_article: str | None
    distance: int | None


def assign_cluster(redis, article_id: str, text: str, *, max_distance: int = 3, ttl_days: int = 30) -> Match:  # noqa: ANN001
    """Find a known article within ``max_distance`` bits; join its cluster, or start one. Records this article."""
    value = simhash(text)
    own_key = f"{PREFIX}cluster:{article_id}"
    pipe = redis.pipeline()
    for index, band in enumerate(bands(value)):
        pipe.smembers(f"{PREFIX}sim:{index}:{band}")
    pipe.get(own_key)
    *members, own_cluster = pipe.execute()
    best: tuple[int, str] | None = None
    for group in members:
        for member in group:
            other, _, hex_value = member.decode().partition(":")
            if other == article_id or not hex_value:
                continue
            bits = distance(value, int(hex_value, 16))
            if bits <= max_distance and (best is None or bits < best[0]):
                best = (bits, other)
    cluster = own_cluster.decode() if own_cluster else None
    near, bits = (best[1], best[0]) if best else (None, None)
    if best is not None and cluster is None:
        found = redis.get(f"{PREFIX}cluster:{best[1]}")
        cluster = found.decode() if found else best[1]
    cluster = cluster or article_id
    ttl = ttl_days * 86400
    pipe = redis.pipeline()
    member = f"{article_id}:{value:016x}"
    for index, band in enumerate(bands(value)):
        key = f"{PREFIX}sim:{index}:{band}"
        pipe.sadd(key, member)
        pipe.expire(key, ttl)
    pipe.set(own_key, cluster, ex=ttl)
    pipe.execute()
    return Match(cluster, near, bits)
