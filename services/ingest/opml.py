"""OPML 1.0/2.0 import and export of the source list (what every feed reader reads and writes).

Import reads every <outline> with an xmlUrl (feeds) or a url/htmlUrl with a newswire:kind
attribute, however deeply nested in folders; export writes one outline per source with its
kind, interval and options as newswire:* attributes, so a round trip keeps them.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from xml.sax.saxutils import quoteattr

from shared.errors import PermanentError
from services.ingest.xmlsafe import XMLSafetyError, local_name, parse_xml

NS = "https://newswire.invalid/opml"


def parse_opml(body: bytes) -> list[dict]:
    try:
        root = parse_xml(body)
    except XMLSafetyError as exc:
        raise PermanentError(f"not OPML: {exc}") from exc
    if local_name(root) != "opml":
        raise PermanentError(f"not OPML (root element <{local_name(root)}>)")
    found = []
    for outline in root.iter():
        if local_name(outline) != "outline":
            continue
        attributes = {key.rsplit("}", 1)[-1]: value for key, value in outline.attrib.items()}
        url = attributes.get("xmlUrl") or attributes.get("xmlurl")
        kind = attributes.get("kind") if "{" + NS + "}kind" in outline.attrib else None
        if not url and kind:
            url = attributes.get("url") or attributes.get("htmlUrl")
        if not url:
            continue
        entry = {"url": url.strip(), "name": attributes.get("title") or attributes.get("text") or None,
                 "kind": kind or "feed"}
        interval = outline.get("{" + NS + "}interval")
        if interval and interval.isdigit():
            entry["interval"] = int(interval)
        options = outline.get("{" + NS + "}options")
        if options:
            try:
                entry["options"] = json.loads(options)
            except ValueError:
                pass
        found.append(entry)
    return found


def import_opml(body: bytes, remote: bool = False) -> dict:
    from services.ingest import sources

    added, existing, failed = [], [], []
    for entry in parse_opml(body):
        try:
            source = sources.add(entry["url"], kind=entry["kind"], name=entry["name"],
                                 interval=entry.get("interval"), options=entry.get("options"), remote=remote)
            added.append(source["id"])
        except sources.SourceError as exc:
            (existing if exc.status == 409 else failed).append({"url": entry["url"], "error": exc.reason})
    return {"added": added, "existing": existing, "failed": failed}


def export_opml(rows: list[dict]) -> str:
    now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<opml version="2.0" xmlns:newswire="{NS}">',
             f"<head><title>Newswire sources</title><dateCreated>{now}</dateCreated></head>", "<body>"]
    for row in rows:
        title = row.get("name") or row.get("title") or row["url"]
        url_attribute = "xmlUrl" if row["kind"] == "feed" else "url"
        attributes = [f"text={quoteattr(title)}", f"title={quoteattr(title)}", f"type={quoteattr('rss' if row['kind'] == 'feed' else 'link')}",
                      f"{url_attribute}={quoteattr(row['url'])}", f"newswire:kind={quoteattr(row['kind'])}",
                      f"newswire:interval={quoteattr(str(row['interval_seconds']))}"]
        if row.get("options"):
            attributes.append(f"newswire:options={quoteattr(json.dumps(row['options'], sort_keys=True))}")
        if row.get("status") == "paused":
            attributes.append('newswire:status="paused"')
        lines.append(f"  <outline {' '.join(attributes)}/>")
    lines += ["</body>", "</opml>", ""]
    return "\n".join(lines)
