"""NewsML-G2 newsItem: guid, version, pubStatus (stat:usable / stat:canceled), signals sig:update and
sig:correction, headline, subjects, and the body as XHTML inline."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

G2 = "http://iptc.org/std/nar/2006-10-01/"
XHTML = "http://www.w3.org/1999/xhtml"


def newsml_item(event: str, doc: dict[str, Any]) -> bytes:
    ET.register_namespace("", G2)
    q = lambda name: f"{{{G2}}}{name}"  # noqa: E731
    item = ET.Element(q("newsItem"), {
        "guid": f"urn:newswire:article:{doc['id']}",
        "version": str(doc["version"]),
        "standard": "NewsML-G2",
        "standardversion": "2.33",
        "conformance": "power",
    })
    if doc.get("language"):
        item.set("{http://www.w3.org/XML/1998/namespace}lang", doc["language"])
    ET.SubElement(item, q("catalogRef"), href="http://www.iptc.org/std/catalog/catalog.IPTC-G2-Standards_38.xml")
    meta = ET.SubElement(item, q("itemMeta"))
    ET.SubElement(meta, q("itemClass"), qcode="ninat:text")
    ET.SubElement(meta, q("provider"), literal="Newswire")
    ET.SubElement(meta, q("versionCreated")).text = doc.get("updated") or ""
    if doc.get("first_created"):
        ET.SubElement(meta, q("firstCreated")).text = doc["first_created"]
    ET.SubElement(meta, q("pubStatus"), qcode="stat:canceled" if event == "retract" else "stat:usable")
    if doc["version"] > 1 or event in ("update", "correct"):
        ET.SubElement(meta, q("signal"), qcode="sig:update")
    if event == "correct":
        ET.SubElement(meta, q("signal"), qcode="sig:correction")
    if event in ("correct", "retract") and doc.get("lifecycle_note"):
        ET.SubElement(meta, q("edNote")).text = doc["lifecycle_note"]
    ET.SubElement(meta, q("link"), rel="irel:seeAlso", href=doc["canonical_url"])
    content = ET.SubElement(item, q("contentMeta"))
    if doc.get("published"):
        ET.SubElement(content, q("contentCreated")).text = str(doc["published"])
    for author in doc.get("authors") or []:
        ET.SubElement(ET.SubElement(content, q("creator")), q("name")).text = author
    for topic in doc.get("topics") or []:
        code = str(topic.get("code") or "")
        subject = ET.SubElement(content, q("subject"), type="cpnat:abstract",
                                qcode=code if ":" in code else f"medtop:{code}")
        ET.SubElement(subject, q("name")).text = topic.get("label") or code
    for keyword in doc.get("keywords") or []:
        ET.SubElement(content, q("keyword")).text = keyword
    if doc.get("title"):
        ET.SubElement(content, q("headline")).text = doc["title"]
    if doc.get("summary"):
        ET.SubElement(content, q("description"), role="drol:summary").text = doc["summary"]
    if event != "retract":
        body_set = ET.SubElement(item, q("contentSet"))
        inline = ET.SubElement(body_set, q("inlineXML"), contenttype="application/xhtml+xml")
        html = ET.SubElement(inline, f"{{{XHTML}}}html")
        body = ET.SubElement(html, f"{{{XHTML}}}body")
        for paragraph in (doc.get("text") or "").split("\n"):
            if paragraph.strip():
                ET.SubElement(body, f"{{{XHTML}}}p").text = paragraph.strip()
    return ET.tostring(item, encoding="utf-8", xml_declaration=True)
