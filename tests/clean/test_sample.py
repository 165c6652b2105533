"""The shared sample page, end to end through the clean stage's extraction: exactly as its truth file says."""

from __future__ import annotations

from services.clean.extract import extract


def test_sample_comes_out_as_its_truth(sample) -> None:  # noqa: ANN001
    raw, truth = sample
    part = extract(raw, truth["url"])
    assert part.title == truth["title"]
    assert part.text == truth["body"]
    assert part.published is not None and part.published.isoformat() == truth["published"]
    assert " ".join(part.authors) == truth["author"]
    assert part.source_name == truth["source"]
    for boilerplate in truth["must_not_contain"]:
        assert boilerplate not in part.text and boilerplate not in part.html
    assert part.charset == "utf-8" and part.charset_reason
