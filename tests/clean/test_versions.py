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
