"""Related stories: a MinHash signature per story and story clusters across sources.

The clean stage's near-duplicate check decides "same article"; this decides "same story": articles
from different outlets about the same event share who, where and what more than they share wording.
So the signature is a MinHash (64 hashes) over the story's salient features: its entities, places,
keywords and title terms (Chinese title character bigrams, English title word stems). Locality-
sensitive hashing (16 bands of 4 rows, kept in ``story_bands``) finds candidates; a candidate whose
estimated Jaccard similarity reaches ``NEWSWIRE_ENRICH_STORY_THRESHOLD`` gives its story id, else the
article starts a story of its own (its id is the story id). Signatures older than
``NEWSWIRE_ENRICH_STORY_DAYS`` are not matched. Written by hand (no model, no datasketch): a few lines of
numpy hashing, and the bands must live in our own store to be shared by every worker.

Across languages this matches only through names written alike (Latin names in Chinese text, numbers);
a translated-name index is not built (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import numpy as np

from shared.payload import ArticlePayload, EnrichPart, utcnow

VERSION = "story-minhash-2"
HASHES = 64
BANDS = 16
ROWS = HASHES // BANDS
_PRIME = (1 << 31) - 1  # (a * v + b) stays below 2**63: numpy uint64 holds it
# Fixed per-hash coefficients (a, b): a signature means the same in every process and version of this module.
_A = np.array([int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest(), "big") % (_PRIME - 1) + 1
               for i in range(HASHES)], dtype=np.uint64)
_B = np.array([int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest(), "big") % _PRIME
               for i in range(HASHES)], dtype=np.uint64)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def story_features(title: str, part: EnrichPart) -> set[str]:
    features = {f"e:{e.name.lower()}" for e in part.entities[:15]}
    features |= {f"p:{p.code or p.name}" for p in part.places[:5]}
    features |= {f"k:{k.lower()}" for k in part.keywords[:10]}
    han = "".join(_HAN.findall(title))
    features |= {f"t:{han[i:i + 2]}" for i in range(len(han) - 1)}
    features |= {f"t:{w.lower()[:6]}" for w in _WORD.findall(title)}
    return features


def signature(features: set[str]) -> list[int]:
    if not features:
        return []
    values = np.array([int.from_bytes(hashlib.blake2b(f.encode(), digest_size=4).digest(), "big") % _PRIME
                       for f in sorted(features)], dtype=np.uint64)
    return ((np.outer(_A, values) + _B[:, None]) % _PRIME).min(axis=1).tolist()


def similarity(one: list[int], other: list[int]) -> float:
    if not one or len(one) != len(other):
        return 0.0
    return sum(1 for x, y in zip(one, other) if x == y) / len(one)


def band_keys(sig: list[int]) -> list[str]:
    return [f"{band}:" + hashlib.blake2b(repr(sig[band * ROWS:(band + 1) * ROWS]).encode(), digest_size=8).hexdigest()
            for band in range(BANDS)]


def assign_story(article_id: str, sig: list[int], threshold: float, days: int) -> str:
    """The story id for this article: an existing story's when a recent signature is close enough, else its own.

    Plain SQL statements (SQLAlchemy Core, not the ORM): this runs once per article."""
    from sqlalchemy import delete, insert, select, update

    from shared.store import session_scope
    from shared.store.models import StoryBand, StorySignature

    signatures, bands = StorySignature.__table__, StoryBand.__table__
    keys = band_keys(sig)
    with session_scope() as session:
        mine = session.execute(select(signatures.c.signature, signatures.c.story_id)
                               .where(signatures.c.article_id == article_id)).first()
        if mine is not None:
            if mine.signature == sig:
                return mine.story_id  # redelivered: the same answer
            session.execute(delete(bands).where(bands.c.article_id == article_id))
        since = utcnow() - timedelta(days=days)
        rows = session.execute(
            select(signatures.c.story_id, signatures.c.signature)
            .join(bands, bands.c.article_id == signatures.c.article_id)
            .where(bands.c.band.in_(keys), signatures.c.article_id != article_id, signatures.c.created_at >= since)
            .distinct()
        ).all()
        best = max(rows, key=lambda row: similarity(sig, row.signature), default=None)
        story_id = best.story_id if best is not None and similarity(sig, best.signature) >= threshold else article_id
        if mine is None:  # the signature row before its bands (foreign key)
            session.execute(insert(signatures).values(article_id=article_id, story_id=story_id, signature=sig,
                                                      created_at=utcnow()))
        else:
            session.execute(update(signatures).where(signatures.c.article_id == article_id)
                            .values(signature=sig, story_id=story_id))
        session.execute(insert(bands), [{"band": key, "article_id": article_id} for key in keys])
    return story_id


def enrich_related(payload: ArticlePayload, part: EnrichPart) -> None:
    from shared.settings import get_settings

    assert payload.clean is not None
    sig = signature(story_features(payload.clean.title, part))
    if not sig:
        return
    settings = get_settings()
    part.story_id = assign_story(payload.id, sig, settings.enrich_story_threshold, settings.enrich_story_days)
