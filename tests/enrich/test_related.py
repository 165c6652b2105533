"""Story clusters: two outlets' articles about one event share a story id; another event does not."""

from __future__ import annotations

from services.enrich.registry import run_enrichers
from services.enrich.related import signature, similarity
from shared.payload import ArticlePayload, CleanPart


def _article(url: str, title: str, text: str) -> ArticlePayload:
    payload = ArticlePayload.new(url)
    payload.clean = CleanPart(title=title, text=text, html="")
    return payload


def test_same_event_from_two_outlets_is_one_story_and_redelivery_keeps_it() -> None:
    one = _article("https://a.example/quake", "Earthquake of magnitude 6.8 strikes Morocco near Marrakesh",
                   "A powerful earthquake struck Morocco late on Friday near Marrakesh, killing hundreds of people. "
                   "The quake hit the High Atlas mountains, Morocco's interior ministry said. Rescue teams "
                   "searched for survivors in Marrakesh and nearby villages as the earthquake toll rose.")
    two = _article("https://b.example/news/1", "Morocco earthquake near Marrakesh kills hundreds",
                   "Hundreds of people were killed when an earthquake hit Morocco near Marrakesh on Friday night, "
                   "the interior ministry said. The earthquake in the High Atlas mountains damaged buildings in "
                   "Marrakesh; rescue teams searched villages for survivors.")
    other = _article("https://c.example/final", "Spain beat England in the Euro final in Berlin",
                     "Spain won the European Championship final against England in Berlin on Sunday, "
                     "scoring late in the second half. Coach Luis de la Fuente praised his young team.")
    first = run_enrichers(one)
    second = run_enrichers(two)
    third = run_enrichers(other)
    assert first.errors == second.errors == third.errors == {}
    assert first.story_id == one.id
    assert second.story_id == first.story_id
    assert third.story_id == other.id
    assert run_enrichers(two).story_id == first.story_id  # at-least-once: the same answer again


def test_signature_similarity() -> None:
    a = signature({"e:morocco", "e:marrakesh", "k:earthquake", "t:quake"})
    b = signature({"e:morocco", "e:marrakesh", "k:earthquake", "t:strikes"})
    assert len(a) == 64 and similarity(a, a) == 1.0
    assert 0.3 < similarity(a, b) < 1.0
    assert signature(set()) == []


def test_an_article_enriched_again_with_new_features_replaces_its_signature_and_bands() -> None:
    from sqlalchemy import func, select

    from services.enrich.related import BANDS, assign_story
    from shared.store import session_scope
    from shared.store.models import StoryBand, StorySignature

    first = signature({"e:acme", "k:merger", "t:acme"})
    second = signature({"e:globex", "k:lawsuit", "t:globex"})
    assert assign_story("article-x", first, 0.5, 7) == "article-x"
    assert assign_story("article-x", second, 0.5, 7) == "article-x"
    with session_scope() as session:
        assert session.get(StorySignature, "article-x").signature == second
        bands = session.scalar(select(func.count()).select_from(StoryBand).where(StoryBand.article_id == "article-x"))
        assert bands == BANDS
    # Another article like the first version finds no story there any more.
    assert assign_story("article-y", first, 0.5, 7) == "article-y"
