from __future__ import annotations

from services.enrich.summary import sentences, summarise


def test_sentences_split_on_chinese_and_english_ends_but_not_abbreviations() -> None:
    text = "他说：“好。”然后走了。The U.S. economy grew 3.5 percent. \"It is fine,\" he said. Mr. Smith left! Then"
    assert sentences(text) == ["他说：“好。”", "然后走了。", "The U.S. economy grew 3.5 percent.",
                               "\"It is fine,\" he said.", "Mr. Smith left!", "Then"]


def test_summary_keeps_the_lead_and_stays_short() -> None:
    text = ("The city council approved a new budget for public transport on Monday, adding ten bus lines.\n"
            "Council members debated for four hours before the vote passed by seven to two.\n"
            "The weather was mild. Many residents watched the debate online from home.\n" * 3)
    summary = summarise(text, ["budget", "council", "bus"], cjk=False)
    assert summary.startswith("The city council approved a new budget")
    assert len(summary.split()) <= 60
    assert summarise("", [], cjk=False) is None
