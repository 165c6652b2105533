"""Routing: which targets get an article version, and why. The first rule that matches decides; with no rules
a target takes everything; a target that got an earlier version of the story always gets the new one (an
update or correction must reach whoever has the old text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.publish.targets.base import Rule, TargetBase


@dataclass
class Decision:
    decision: str  # send, skip
    rule: str | None
    reason: str


def _lower(values: list[str]) -> list[str]:
    return [v.lower() for v in values]


def _why_not(rule: Rule, doc: dict[str, Any], source_id: int | None) -> str | None:
    """None when every filter of the rule matches; else the first filter that does not."""
    if rule.source:
        host = (urlsplit(doc.get("url") or "").hostname or "").lower()
        if not any((source_id is not None and s == str(source_id)) or (s.lower() in host) for s in rule.source):
            return f"source {source_id if source_id is not None else host} not in {rule.source}"
    if rule.language:
        language = (doc.get("language") or "").lower()
        if not any(language == l or language.startswith(l + "-") for l in _lower(rule.language)):
            return f"language {doc.get('language')!r} not in {rule.language}"
    if rule.topic:
        have = {str(t.get(k) or "").lower() for t in doc.get("topics") or [] for k in ("code", "label", "label_zh")}
        if not have & set(_lower(rule.topic)):
            return f"no topic in {rule.topic}"
    if rule.keywords:
        keywords = set(_lower(doc.get("keywords") or []))
        title = (doc.get("title") or "").lower()
        if not any(k in keywords or k in title for k in _lower(rule.keywords)):
            return f"no keyword in {rule.keywords}"
    if rule.place:
        names = {str(n).lower() for p in doc.get("places") or [] for n in [p.get("name"), *(p.get("hierarchy") or [])]
                 if n}
        if not names & set(_lower(rule.place)):
            return f"no place in {rule.place}"
    quality = (doc.get("quality") or {}).get("score") if isinstance(doc.get("quality"), dict) else None
    if rule.min_quality is not None and (quality is None or quality < rule.min_quality):
        return f"quality {quality} below {rule.min_quality}"
    if rule.max_quality is not None and (quality is None or quality > rule.max_quality):
        return f"quality {quality} above {rule.max_quality}"
    return None


def rule_label(rule: Rule, index: int) -> str:
    return rule.name or f"rule {index + 1}"


def decide(target: TargetBase, doc: dict[str, Any], source_id: int | None, earlier_recipient: bool) -> Decision:
    if earlier_recipient:
        return Decision("send", "earlier-recipient", "it received an earlier version of this story")
    if not target.rules:
        return Decision("send", None, "the target has no rules: it takes everything")
    misses = []
    for index, rule in enumerate(target.rules):
        why_not = _why_not(rule, doc, source_id)
        if why_not is None:
            verb = "matched: send" if rule.action == "send" else "matched: skip"
            return Decision(rule.action, rule_label(rule, index), f"{rule_label(rule, index)} {verb}")
        misses.append(f"{rule_label(rule, index)}: {why_not}")
    return Decision("skip", None, "no rule matched (" + "; ".join(misses) + ")")
