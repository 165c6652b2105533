"""URL canonicalisation: tracking parameters stripped, rel=canonical / og:url honoured, article-like links told apart."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from shared.payload import normalize_url

# utm_*, click ids and the share/referral parameters of the big platforms and newsletters.
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "_hs", "mc_", "oly_", "vero_", "itm_", "__s")
TRACKING_NAMES = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mkt_tok", "_ga", "_gl",
    "spm", "scm", "share_token", "share_source", "share_medium", "sharesource", "isappinstalled",
    "wt_mc", "wt.mc_id", "cmpid", "ncid", "sr_share", "ref_src", "ref_url",
}


def strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(TRACKING_PREFIXES) and k.lower() not in TRACKING_NAMES]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept, doseq=True), parts.fragment))


def canonical_url(url: str) -> str:
    """The URL we key a story by: normalised (scheme/host case, default port, no fragment), tracking stripped."""
    return normalize_url(strip_tracking(url))


_CANONICAL = re.compile(
    rb"""<link\b[^>]*\brel\s*=\s*["']?canonical["']?[^>]*>""", re.IGNORECASE)
_OG_URL = re.compile(rb"""<meta\b[^>]*\bproperty\s*=\s*["']og:url["'][^>]*>""", re.IGNORECASE)
_HREF = re.compile(rb"""\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CONTENT = re.compile(rb"""\bcontent\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def declared_canonical(html: bytes, page_url: str) -> str | None:
    """The page's own rel=canonical, else og:url, when it stays on the same site; else None."""
    head = html[:200_000]
    for pattern, attribute in ((_CANONICAL, _HREF), (_OG_URL, _CONTENT)):
        tag = pattern.search(head)
        if tag:
            value = attribute.search(tag.group(0))
            if value:
                candidate = urljoin(page_url, value.group(1).decode("utf-8", "replace").strip())
                if candidate.startswith(("http://", "https://")) and same_site(candidate, page_url):
                    return canonical_url(candidate)
    return None


def registrable(host: str) -> str:
    """A rough registrable domain (last two labels, three for co.uk-style and .com.cn-style suffixes)."""
    labels = host.lower().strip(".").split(".")
    if len(labels) >= 3 and labels[-2] in ("co", "com", "net", "org", "gov", "edu", "ac") and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_site(a: str, b: str) -> bool:
    host_a, host_b = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    return host_a == host_b or registrable(host_a) == registrable(host_b)


_NOT_ARTICLE = re.compile(
    r"/(tag|tags|category|categories|author|authors|search|login|register|signup|about|contact|privacy|terms|"
    r"feed|rss|page|index|list|topics?|section|video|photos?|gallery)(/|$|\.)|"
    r"\.(jpg|jpeg|png|gif|webp|svg|pdf|zip|mp3|mp4|css|js|xml|json)$",
    re.IGNORECASE,
)
_ARTICLE_HINT = re.compile(
    r"(/20\d{2}[/-]?\d{2}|/\d{6,}|\d{5,}\.s?html?$|/(article|story|news|content|post|a|detail|doc)s?/|"
    r"[a-z0-9]+(-[a-z0-9]+){3,}|/t20\d{6}_|\.s?html?$)",
    re.IGNORECASE,
)


def looks_like_article(url: str, listing_url: str) -> bool:
    """Same site, not the listing itself, not a section/tag/media link, and shaped like a story URL."""
    if not url.startswith(("http://", "https://")) or not same_site(url, listing_url):
        return False
    parts = urlsplit(url)
    if canonical_url(url) == canonical_url(listing_url) or parts.path in ("", "/"):
        return False
    if _NOT_ARTICLE.search(parts.path):
        return False
    return bool(_ARTICLE_HINT.search(parts.path))


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host
