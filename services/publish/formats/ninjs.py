"""IPTC ninjs 2.1: uri, version, versioncreated, pubstatus (usable / canceled on retraction), headlines,
bodies, subjects (IPTC media topics and keywords), people/places/organisations, by, renditions."""

from __future__ import annotations

from typing import Any

SCHEMA = "https://iptc.org/std/ninjs/ninjs-schema_2.1.json"
MEDIATOPIC = "http://cv.iptc.org/newscodes/mediatopic/"


def uri_for(article_id: str) -> str:
    return f"urn:newswire:article:{article_id}"


def pubstatus(event: str) -> str:
    return "canceled" if event == "retract" else "usable"


def _topic_uri(code: str) -> str | None:
    code = code.split(":", 1)[-1]
    return MEDIATOPIC + code if code.isdigit() else None


def ninjs_item(event: str, doc: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "uri": uri_for(doc["id"]),
        "standard": {"name": "ninjs", "version": "2.1", "schema": SCHEMA},
        "type": "text",
        "version": str(doc["version"]),
        "pubstatus": pubstatus(event),
        "representationtype": "full",
    }
    for key, field in (("firstcreated", "first_created"), ("versioncreated", "updated")):
        if doc.get(field):
            item[key] = doc[field]
    if doc.get("published"):
        item["contentcreated"] = str(doc["published"])
    if doc.get("language"):
        item["language"] = doc["language"]
    if doc.get("title"):
        item["headlines"] = [{"role": "main", "value": doc["title"]}]
        item["title"] = doc["title"]
    if event != "retract":
        bodies = []
        if doc.get("html"):
            bodies.append({"role": "main", "contenttype": "text/html", "value": doc["html"],
                           "charcount": len(doc.get("text") or "")})
        if doc.get("text"):
            bodies.append({"role": "main", "contenttype": "text/plain", "value": doc["text"]})
        if bodies:
            item["bodies"] = bodies
        if doc.get("summary"):
            item["descriptions"] = [{"role": "summary", "contenttype": "text/plain", "value": doc["summary"]}]
    if doc.get("authors"):
        item["by"] = ", ".join(doc["authors"])
    subjects: list[dict[str, Any]] = []
    for topic in doc.get("topics") or []:
        subject: dict[str, Any] = {"name": topic.get("label") or topic.get("code"), "rel": "about",
                                   "literal": topic.get("code")}
        uri = _topic_uri(str(topic.get("code") or ""))
        if uri:
            subject["uri"] = uri
        if isinstance(topic.get("score"), (int, float)):
            subject["confidence"] = max(0, min(100, round(topic["score"] * 100)))
        subjects.append(subject)
    subjects += [{"name": keyword, "rel": "keyword"} for keyword in doc.get("keywords") or []]
    if subjects:
        item["subjects"] = subjects
    kinds = {"person": "people", "organisation": "organisations"}
    for entity in doc.get("entities") or []:
        key = kinds.get(entity.get("kind"))
        if key:
            item.setdefault(key, []).append({"name": entity["name"], "rel": "mentioned"})
    places = [{"name": place["name"], "rel": "about"} for place in doc.get("places") or [] if place.get("name")]
    if places:
        item["places"] = places
    renditions = [{"name": "original", "href": doc["canonical_url"], "contenttype": "text/html"}]
    if doc.get("lead_image"):
        renditions.append({"name": "lead-image", "href": doc["lead_image"]})
    item["renditions"] = renditions
    if doc.get("source_name") or doc.get("site_name"):
        item["infosources"] = [{"name": doc.get("source_name") or doc["site_name"], "role": "originator"}]
    note = doc.get("lifecycle_note")
    if event in ("correct", "retract"):
        item["ednote"] = f"{'Correction' if event == 'correct' else 'Retraction'}: {note or 'no reason given'}"
    item["altids"] = [{"role": "newswire-id", "value": doc["id"]}, {"role": "url", "value": doc["url"]}]
    return item
