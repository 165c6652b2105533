"""Poison messages: a payload that fails every time in one stage ends as a dead letter with its reason after its
retries, reaches no target, and the articles queued right behind it still go through.

Two real inputs, no fault-injection switch: a page that is always 503 (the ingest stage fails it every time, a
transient fault: retried NEWSWIRE_RETRY_MAX times, then dead-lettered) and a page with no article in it (the clean
stage fails it, a permanent fault: dead-lettered on its first attempt)."""

from __future__ import annotations

import uuid

import pytest

from conftest import wait_until
from tests.faults.outage_support import RETRY_MAX, TARGETS

pytestmark = pytest.mark.fault

ARTICLES = 3


def test_poison_messages_end_as_dead_letters_and_do_not_block_the_queue(faults) -> None:  # noqa: ANN001
    site = faults.site
    always_down = f"/poison/down-{uuid.uuid4().hex[:8]}.html"
    down_url = site.add(always_down, "<html><body>busy</body></html>", status=503)
    no_article = site.add(f"/poison/empty-{uuid.uuid4().hex[:8]}.html",
                          "<html><head><title>menu</title></head><body><nav><a href='/'>Home</a></nav></body></html>")
    poison = {"ingest": faults.submit(down_url), "clean": faults.submit(no_article)}
    ids = [faults.submit(faults.page("behind-poison")[0]) for _ in range(ARTICLES)]

    for target in TARGETS:
        faults.wait_delivered(target, ids, message=f"the articles behind the poison delivered to {target}")

    def letter(article_id: str) -> dict | None:
        items = faults.dead_letters(article_id)
        return items[0] if items else None

    down = wait_until(lambda: letter(poison["ingest"]), timeout=120, message="dead letter for the 503 page")
    assert down["stage"] == "ingest"
    assert "503" in down["error"]
    assert down["attempts"] == RETRY_MAX + 1  # the first try and its retries, then no more
    assert site.routes[always_down].hits == down["attempts"]
    empty = wait_until(lambda: letter(poison["clean"]), timeout=120, message="dead letter for the page with no article")
    assert empty["stage"] == "clean"
    assert "no article text" in empty["error"]
    assert empty["attempts"] == 1  # a permanent fault is not retried

    for article_id in poison.values():
        assert len(faults.dead_letters(article_id)) == 1  # one dead letter each, not one per attempt
        assert faults.article(article_id) is None or not faults.article(article_id)["versions"]
        for target in TARGETS:
            assert not faults.receiver.of(target, article_id)
    for article_id in ids:
        assert not faults.dead_letters(article_id)
        article = faults.article(article_id)
        assert article is not None and article["versions"][0]["status"] == "published"
        assert all(len(faults.receiver.of(target, article_id)) == 1 for target in TARGETS)
