"""Near-duplicates: SimHash distances, and story clusters kept in a real Redis."""

from __future__ import annotations

import uuid

import pytest

from services.clean import neardup
from services.clean.versions import diff_summary

STORY = ("The city council approved a new budget for public transport on Monday, after a debate that lasted most "
         "of the day. Bus fares will stay the same for at least two years, the mayor said, while three new routes "
         "open in the spring. Opponents argued that the plan leaves the northern districts behind. ") * 3
ZH = "焦作市解放区通过分月创建、星级评定，尽职尽责抓落实，高质高效促提升，人人参与创建的氛围愈加浓厚，全区呈现出万众一心投身创建的热潮。" * 3


def test_small_edits_stay_within_a_few_bits_and_other_stories_do_not() -> None:
    base = neardup.simhash(STORY)
    assert neardup.distance(base, neardup.simhash(STORY + " Reporting by Jane Doe.")) <= 3
    assert neardup.distance(neardup.simhash(ZH), neardup.simhash(ZH + "（记者 马强）")) <= 3
    assert neardup.distance(base, neardup.simhash(ZH)) > 10
    assert neardup.tokens("大河网讯 Hello, World") == ["大", "河", "网", "讯", "hello", "world"]


@pytest.fixture()
def redis(redis_url):  # noqa: ANN001, ANN201
    from shared.redis_client import redis_from_url

    return redis_from_url(redis_url)


def test_a_near_duplicate_joins_the_first_storys_cluster(redis) -> None:  # noqa: ANN001
    first, second, other = (str(uuid.uuid4()) for _ in range(3))
    story = STORY + uuid.uuid4().hex  # unique per run: the index lives in a shared Redis
    one = neardup.assign_cluster(redis, first, story)
    assert one.cluster_id == first and one.near_article is None
    two = neardup.assign_cluster(redis, second, story + " Reporting by Jane Doe.")
    assert two.cluster_id == first and two.near_article == first and two.distance <= 3
    three = neardup.assign_cluster(redis, other, ZH + uuid.uuid4().hex)
    assert three.cluster_id == other
    # Asked again (a redelivery), an article keeps its cluster.
    assert neardup.assign_cluster(redis, second, story).cluster_id == first
    assert redis.ttl(f"{neardup.PREFIX}cluster:{first}") > 0


def test_a_changed_version_gets_a_summary_of_what_changed() -> None:
    previous = {"title": "Old title", "text": "one\ntwo\nthree"}
    assert diff_summary(previous, "New title", "one\ntwo, edited\nthree\nfour") == (
        "title changed (was: 'Old title'); 1 paragraph added; 1 paragraph edited")
    assert diff_summary(previous, "Old title", "one\nthree") == "1 paragraph removed"
