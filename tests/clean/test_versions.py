"""Versions in the real store: one article per URL, a duplicate fetch is counted, changed text is a new version
that says what changed, and the published document carries that and the near-duplicate link."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from shared.payload import ArticlePayload, CleanPart, content_hash

PARAGRAPHS = ["The council approved the budget on Monday.", "Bus fares stay the same.", "Three routes open in spring."]


@pytest.fixture(scope="module")
def store(database_url) -> Iterator[None]:  # noqa: ANN001
    from newswire.embedded import override_environment
    from shared.store import upgrade_schema

    upgrade_schema(database_url)
    with override_environment({"DATABASE_URL": database_url}):
        yield


def _payload(url: str, paragraphs: list[str], title: str = "Council passes budget") -> ArticlePayload:
    payload = ArticlePayload.new(url)
    payload.clean = CleanPart(title=title, text="\n".join(paragraphs), html="", cluster_id="c-1",
                              near_duplicate_of="a-0")
    payload.content_hash = content_hash(title, payload.clean.text)
    return payload


def test_changed_text_is_a_new_version_with_a_summary_and_a_duplicate_is_counted(store) -> None:  # noqa: ANN001
    from services.clean.versions import record_version
    from services.publish.formats.document import article_document
    from shared.store import Article, session_scope

    url = f"https://example.com/news/{uuid.uuid4().hex}.html"
    first = _payload(url, PARAGRAPHS)
    assert record_version(first).kind == "new"
    assert record_version(first).kind == "redelivered"  # the same fetch's message again
    assert record_version(_payload(url, PARAGRAPHS)).kind == "duplicate"  # another fetch, same text

    edited = _payload(url, [PARAGRAPHS[0], "Bus fares stay the same until 2027.", *PARAGRAPHS[2:], "Critics object."])
    outcome = record_version(edited)
    assert (outcome.kind, outcome.version) == ("new", 2)
    assert edited.clean.changes == "1 paragraph added; 1 paragraph edited"

    with session_scope() as session:
        article = session.get(Article, first.id)
        assert article.latest_version == 2 and article.duplicates == 1
        latest = max(article.versions, key=lambda version: version.version)
        document = article_document(article, latest)
    assert document["changes"] == "1 paragraph added; 1 paragraph edited"
    assert document["cluster_id"] == "c-1" and document["near_duplicate_of"] == "a-0"


def _near(url: str, paragraphs: list[str], cluster: str, near: str | None) -> ArticlePayload:
    payload = _payload(url, paragraphs)
    payload.clean.cluster_id, payload.clean.near_duplicate_of = cluster, near
    return payload


def test_a_near_duplicate_never_published_is_held_and_linked_to_its_story(store) -> None:  # noqa: ANN001
    from services.clean.versions import record_version, story_articles
    from shared.payload import TraceEntry, utcnow
    from shared.store import Article, ArticleVersion, session_scope

    known = _near(f"https://a.example/{uuid.uuid4().hex}.html", PARAGRAPHS, "", None)
    known.clean.cluster_id = known.id  # the story's first article: its cluster is its own id
    known.clean.near_duplicate_of = "someone-else"  # (a later near one does not make the story a duplicate)
    assert record_version(known, hold_near_duplicates=True).kind == "new"

    copy = _near(f"https://b.example/{uuid.uuid4().hex}.html", PARAGRAPHS, known.id, known.id)
    copy.trace.append(TraceEntry(stage="clean", worker="test", start=utcnow()))
    outcome = record_version(copy, hold_near_duplicates=True)
    assert outcome.kind == "near_duplicate" and outcome.version == 1
    assert record_version(copy, hold_near_duplicates=True).kind == "near_duplicate"  # redelivered: still held
    assert copy.trace[-1].outcome == "near_duplicate"

    published = _near(f"https://c.example/{uuid.uuid4().hex}.html", PARAGRAPHS, known.id, known.id)
    assert record_version(published, hold_near_duplicates=False).kind == "new"  # the setting publishes it

    with session_scope() as session:
        story = session.get(Article, known.id)
        held = session.get(Article, copy.id)
        assert (story.cluster_id, story.near_duplicate_of) == (known.id, None)
        assert (held.cluster_id, held.near_duplicate_of) == (known.id, known.id)
        assert [v.status for v in held.versions] == ["near_duplicate"]
        assert [a.id for a in story_articles(session, known.id, but=known.id)] == [copy.id, published.id]
        # Once a page of the story has been published, its new versions are updates: they go out.
        version = session.query(ArticleVersion).filter_by(article_id=published.id).one()
        version.status, version.published_at = "published", utcnow()
    update = _near(published.url, [*PARAGRAPHS, "Critics object."], known.id, known.id)
    assert record_version(update, hold_near_duplicates=True).kind == "new"

    # The held copy fetched again: still held while near-duplicates are held; released once they are published.
    again = _near(copy.url, PARAGRAPHS, known.id, known.id)
    assert record_version(again, hold_near_duplicates=True).kind == "duplicate"
    released = record_version(_near(copy.url, PARAGRAPHS, known.id, known.id), hold_near_duplicates=False)
    assert (released.kind, released.version) == ("new", 1)
    with session_scope() as session:
        assert [v.status for v in session.get(Article, copy.id).versions] == ["cleaned"]
