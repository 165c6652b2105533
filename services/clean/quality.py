"""Quality verdict on an extracted article: publish it, or quarantine it with the reasons.

Measures (all kept in the verdict, so an operator sees why):
- ``chars``: length of the extracted text; ``ratio``: its share of the page's visible text;
- ``link_density``: share of the story container's text inside links;
- ``garbled``: share of characters that are replacement, private-use or control characters, plus the bytes the
  decoder had to drop, per character;
- ``charset``: set when no charset read the page cleanly and the reading with the fewest problems was taken (its
  problems count in ``garbled``);
- ``spam``: spam/ad markers in the extracted text (crypto exchanges, gambling, "exchange" ads like the sample's).

Each failed check costs points from 1.0; below the threshold (setting ``clean_quarantine_below``) the article is
quarantined: the clean task dead-letters it with the reasons instead of publishing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.errors import ExtractionError

SPAM = re.compile(
    r"欧易|火币|币安|OKX|Binance|Huobi|币圈|空投|合约交易|炒币|博彩|赌场|百家乐|时时彩|六合彩|彩票平台|代孕|"
    r"网赚|刷单|裸聊|成人视频|无抵押贷款|"
    r"\bcasino\b|\bslot machines?\b|\bviagra\b|\bcialis\b|payday loans?|crypto (?:signals|pump)|"
    r"\bescort(?:s| service)\b|online betting",
    re.IGNORECASE,
)
SPAM_SCAN = 100_000  # characters of the text searched for spam markers (an ad block sits near the top)
_GARBLE = re.compile("[\ufffd\ue000-\uf8ff\u0080-\u009f]")


class QuarantinedError(ExtractionError):
    """The article was extracted but is not fit to publish (too short, garbled, spam): dead-lettered with reasons."""


@dataclass
class Verdict:
    score: float
    reasons: list[str] = field(default_factory=list)
    measures: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"score": round(self.score, 3), "reasons": self.reasons, "measures": self.measures}


def judge(text: str, page_chars: int, link_density: float, dropped_bytes: int = 0,
          charset_flag: str | None = None) -> Verdict:
    chars = len(text)
    garbled = (len(_GARBLE.findall(text)) + dropped_bytes) / max(chars, 1)
    spam = sorted({match.group(0) for match in SPAM.finditer(text[:SPAM_SCAN])})
    measures = {
        "chars": chars,
        "ratio": round(chars / page_chars, 3) if page_chars else None,
        "link_density": round(link_density, 3),
        "garbled": round(garbled, 4),
        "spam": spam,
    }
    if charset_flag:  # no charset read the page cleanly (services/clean/decode.py): the best was taken, flagged
        measures["charset"] = charset_flag
    # Each check: (is it bad, is it very bad) -> cost and reason of the worse tier that applies.
    checks = [
        (chars < 200, chars < 80, 0.15, 0.6, f"text too short ({chars} characters)"),
        (link_density > 0.3, link_density > 0.5, 0.1, 0.6, f"story container is link-heavy (link density {link_density:.2f})"),
        (garbled > 0.002, garbled > 0.02, 0.1, 0.6, f"garbled text ({garbled:.2%} unreadable characters)"),
        (bool(spam), len(spam) >= 2, 0.2, 0.6, "spam markers: " + ", ".join(spam[:5])),
        (bool(charset_flag), False, 0.05, 0.05, charset_flag or ""),
        (bool(page_chars) and chars / max(page_chars, 1) < 0.02, False, 0.1, 0.1,
         f"story is {chars / max(page_chars, 1):.1%} of the page's text"),
    ]
    score = 1.0
    reasons: list[str] = []
    for bad, very_bad, cost, high_cost, reason in checks:
        if bad:
            score -= high_cost if very_bad else cost
            reasons.append(reason)
    return Verdict(max(score, 0.0), reasons, measures)


def enforce(verdict: Verdict, threshold: float, where: str) -> None:
    """Quarantine (raise) when the verdict scores below the threshold."""
    if verdict.score < threshold:
        raise QuarantinedError(
            f"quarantined {where}: quality {verdict.score:.2f} below {threshold:.2f}: " + "; ".join(verdict.reasons)
        )
