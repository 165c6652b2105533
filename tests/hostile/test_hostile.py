"""The hostile input corpus (issue 8): every case of cases/*.yaml against the real code, with its expected outcome.

Stages (a case's ``stage``):
- ``http``: the safe HTTP client (shared/http.py) against hostile local servers on 127.0.0.1 (which the tests allow,
  as the other tests do, so that it poses as a public host) and a trap server on 127.0.0.2 (private: never reached);
- ``page``: fetched by the safe client, then decoded, extracted, sanitised and judged as the clean stage does;
- ``feed``: feed parsing (services/ingest/feeds.py), each entry then made a page and cleaned as a poll does;
- ``xml``: services/ingest/xmlsafe.py's parser (sitemaps, OPML, NewsML-G2);
- ``clean``: bytes to a cleaned article (services/clean: decode, extract, sanitise, quality verdict);
- ``sanitize``: services/clean/extract.py's sanitize_html on an HTML fragment;
- ``hook``: signed, forged, replayed and malformed calls of POST /hooks/{hook} through the FastAPI app;
- ``api``: API inputs at and past their limits through the FastAPI app.

Invariants, whatever the case expects: no exception other than our own error hierarchy (and, for parse_feed and
xmlsafe, their documented ValueError) escapes a stage; no case outlives its timeout (the product's limits are set
small); no script, event handler or javascript: URL in any sanitised HTML or published URL; the trap server on a
private address is never reached, and a case refused for its address never reaches its routes either; no API
answer is a 5xx.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Iterator

import pytest

from shared.errors import NewswireError
from tests.api.conftest import api_env, fresh_database  # noqa: F401  (fixtures: a database of the module's own)
from tests.console.conftest import console_env  # noqa: F401
from tests.hostile.corpus import body_of, feed_problems, load_cases, rss, unsafe_url, xss_problems
from tests.hostile.server import HostileServer, Route, can_bind

CASES = load_cases()
TIMEOUT = 30  # seconds a case may take, far beyond the product's limits set below (the machine may be loaded)
API_TIMEOUT = 120  # the first hook or API case also sets up the module's database and app

# Generous timeouts by default (a loaded machine must not turn a success into a timeout); the slow-server cases set
# their own small ones (SLOW below), and their hang is caught by the case's pytest-timeout.
HTTP_SETTINGS = {"allow_private_networks": "127.0.0.1/32", "http_connect_timeout": 5.0, "http_read_timeout": 5.0,
                 "http_total_timeout": 15.0, "max_body_bytes": 1_000_000, "max_redirects": 5}
SLOW = {"http_read_timeout": 0.4, "http_total_timeout": 1.0}
API_ENV = {"NEWSWIRE_MAX_BODY_BYTES": "200000", "NEWSWIRE_HOOKS_MAX_BODY_BYTES": "262144"}


def _params() -> list:
    def timeout(case: dict[str, Any]) -> int:
        return case.get("timeout", API_TIMEOUT if case["stage"] in ("hook", "api") else TIMEOUT)

    return [pytest.param(case, id=f"{case['category']}:{case['id']}", marks=pytest.mark.timeout(timeout(case)))
            for case in CASES]


# -- servers -------------------------------------------------------------------------------------------------
class Servers:
    def __init__(self) -> None:
        self.site = HostileServer("127.0.0.1")
        self.trap = HostileServer("127.0.0.2") if can_bind("127.0.0.2") else None

    def fill(self, text: str, prefix: str) -> str:
        values = {"site": self.site.base + prefix, "site_port": str(self.site.port), "prefix": prefix,
                  "trap": (self.trap.base if self.trap else "http://127.0.0.2:9") + prefix,
                  "trap_port": str(self.trap.port if self.trap else 9)}
        return re.sub(r"\{(site|site_port|trap|trap_port|prefix)\}", lambda m: values[m.group(1)], text)


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    running = Servers()
    yield running
    running.site.close()
    if running.trap:
        running.trap.close()


def _route(spec: dict[str, Any], fill) -> Route:  # noqa: ANN001
    route = Route(status=spec.get("status", 200), headers={k: fill(str(v)) for k, v in spec.get("headers", {}).items()})
    route.body = body_of(spec.get("body"))
    for name in ("stream", "length", "drip", "stall", "header_drip"):
        if name in spec:
            setattr(route, name, spec[name])
    if "fill" in spec:
        route.fill = spec["fill"].encode()
    if "raw" in spec:
        route.raw = body_of(spec["raw"])
    return route


def _serve(case: dict[str, Any], servers: Servers) -> tuple[str, str]:
    """Register the case's routes under a prefix of its own; return (prefix, URL to fetch)."""
    prefix = f"/{case['id']}-{uuid.uuid4().hex[:6]}"
    fill = lambda text: servers.fill(text, prefix)  # noqa: E731
    for path, spec in (case.get("routes") or {}).items():
        server = servers.trap if spec.get("at") == "trap" else servers.site
        if server is not None:
            server.add(prefix + path, _route(spec, fill))
    url = fill(case["fetch"])
    return prefix, url if "://" in url else servers.site.base + prefix + url


# -- outcomes ---------------------------------------------------------------------------------------------------
class Refused(Exception):
    """A stage refused the input the way it is meant to (our error hierarchy, or a documented ValueError)."""

    def __init__(self, error: BaseException, outcome: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcome = outcome


def _guard(allowed: tuple[type[BaseException], ...] = (), documented: str = r"^not a "):  # noqa: ANN202
    """Run a stage's function: our errors become a Refused outcome, as do the ``allowed`` errors a function documents
    (parse_feed's ValueError "not a feed: ..."); anything else is a crash (the test fails)."""

    def call(function, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        try:
            return function(*args, **kwargs)
        except NewswireError as exc:
            raise Refused(exc, "retried" if exc.transient else "dead_letter") from exc
        except allowed as exc:
            if not re.search(documented, str(exc)):
                pytest.fail(f"crash: {type(exc).__name__} escaped {function.__qualname__}, not the documented "
                            f"refusal: {str(exc)[:300]}")
            raise Refused(exc, "dead_letter") from exc
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"crash: {type(exc).__name__} escaped {getattr(function, '__qualname__', function)}: "
                        f"{str(exc)[:300]}")

    return call


def _clean(raw: bytes, url: str | None, charset: str | None) -> Any:
    """The clean stage's work on bytes (services/clean/service.py without the store): extract, then the verdict."""
    from services.clean import quality
    from services.clean.extract import extract
    from shared.settings import get_settings

    part = extract(raw, url, charset)
    quality.enforce(quality.Verdict(**part.quality), get_settings().clean_quarantine_below, url or "the page")
    return part


def _check_article(part: Any, where: str) -> None:
    problems = xss_problems(part.html)
    assert not problems, f"{where}: unsafe sanitised HTML: {problems}\n{part.html[:2000]}"
    problems = feed_problems(part, "https://news.example/2026/story.html")
    assert not problems, f"{where}: {problems}"
    for name in ("canonical_url", "lead_image"):
        assert not unsafe_url(getattr(part, name), {"http", "https"}), f"{where}: {name} {getattr(part, name)!r}"
    for image in part.images:
        assert not unsafe_url(image.url, {"http", "https"}), f"{where}: image URL {image.url!r}"


def _expect_error(refused: Refused, expect: dict[str, Any]) -> None:
    error = refused.error
    assert "error" in expect or "outcome" in expect, f"refused, and the case expects success: " \
                                                     f"{type(error).__name__}: {error}"
    if "error" in expect:
        names = [klass.__name__ for klass in type(error).__mro__]
        assert expect["error"] in names, f"expected {expect['error']}, got {type(error).__name__}: {error}"
    if "outcome" in expect:
        assert refused.outcome == expect["outcome"], f"outcome {refused.outcome}, expected {expect['outcome']}: {error}"
    if "reason" in expect:
        assert re.search(expect["reason"], str(error), re.I | re.S), f"reason {str(error)[:500]!r} !~ {expect['reason']!r}"


def _texts(expect: dict[str, Any], key: str) -> list[str]:
    value = expect.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def _expect_article(part: Any, expect: dict[str, Any]) -> None:
    assert expect.get("outcome", "cleaned") == "cleaned", f"cleaned, and the case expects {expect}"
    if "title" in expect:
        assert re.search(expect["title"], part.title or ""), f"title {part.title!r} !~ {expect['title']!r}"
    if "charset" in expect:
        assert part.charset == expect["charset"], (part.charset, part.charset_reason)
    for text in _texts(expect, "text_contains"):
        assert text in part.text, f"{text!r} not in the text: {part.text[:500]!r}"
    for text in _texts(expect, "text_lacks"):
        assert text not in part.text, f"{text!r} in the text"
    for text in _texts(expect, "html_lacks"):
        assert text.lower() not in part.html.lower(), f"{text!r} in the HTML"
    if "canonical_url" in expect:
        assert part.canonical_url == expect["canonical_url"], part.canonical_url
    if "lead_image" in expect:
        assert part.lead_image == expect["lead_image"], part.lead_image
    if "images" in expect:
        assert [image.url for image in part.images] == expect["images"], part.images


# -- stages ---------------------------------------------------------------------------------------------------
def run_http(case: dict[str, Any], servers: Servers, fetch_body: bool = False) -> Any:
    from shared import http
    from shared.settings import Settings

    expect = case.get("expect", {})
    overrides = case.get("settings", {})
    settings = Settings(**{**HTTP_SETTINGS, **(SLOW if overrides == "slow" else overrides)})
    prefix, url = _serve(case, servers)
    trap_before = servers.trap.requests if servers.trap else 0
    result: Any = None
    try:
        if case.get("method") == "POST":
            result = _guard()(http.post, url, content=body_of(case.get("send")) or b"{}",
                              headers={"Content-Type": "application/json"}, max_bytes=settings.max_body_bytes,
                              settings=settings)
        else:
            result = _guard()(http.fetch, url, settings=settings)
    except Refused as refused:
        _expect_error(refused, expect)
    else:
        assert "error" not in expect, f"expected {expect['error']}, got HTTP {result.status_code}, " \
                                      f"{len(result.content)} bytes"
        if "status" in expect:
            assert result.status_code == expect["status"]
        if "size" in expect:
            assert len(result.content) == expect["size"]
        for text in _texts(expect, "body_contains"):
            assert text.encode() in result.content
    # Private addresses: the trap server is never reached, and a case that says so never reaches its own routes.
    if servers.trap:
        assert servers.trap.requests == trap_before, "the trap server on a private address was reached"
    if "hits" in expect:
        assert servers.site.hits(prefix) == expect["hits"], f"{servers.site.hits(prefix)} hits on the case's routes"
    return result


def run_page(case: dict[str, Any], servers: Servers) -> None:
    response = run_http({**case, "expect": case.get("fetch_expect", {})}, servers)
    if response is None:
        return
    expect = case.get("expect", {})
    try:
        part = _guard()(_clean, response.content, response.url, response.charset)
    except Refused as refused:
        _expect_error(refused, expect)
        return
    _check_article(part, case["id"])
    _expect_article(part, expect)


def run_clean(case: dict[str, Any], _servers: Servers) -> None:
    expect = case.get("expect", {})
    raw = body_of({"article": {"inject": case["vector"]}}) if "vector" in case else body_of(case["body"])
    try:
        part = _guard()(_clean, raw, case.get("url", "https://news.example/2026/story.html"), case.get("charset"))
    except Refused as refused:
        _expect_error(refused, expect)
        return
    _check_article(part, case["id"])
    _expect_article(part, expect)


def run_sanitize(case: dict[str, Any], _servers: Servers) -> None:
    from services.clean.extract import sanitize_html

    html = case["vector"] if "vector" in case else body_of(case["body"]).decode("utf-8")
    out = _guard()(sanitize_html, html)
    problems = xss_problems(out)
    assert not problems, f"unsafe sanitised HTML: {problems}\n{out[:2000]}"
    expect = case.get("expect", {})
    if "equals" in expect:
        assert out == expect["equals"]
    for text in _texts(expect, "contains"):
        assert text in out, out
    for text in _texts(expect, "lacks"):
        assert text.lower() not in out.lower(), out


def _with_trap(raw: bytes, servers: Servers) -> bytes:
    """``{trap}`` in a payload (an external entity's or DTD's URL) names the trap server on a private address."""
    base = (servers.trap.base if servers.trap else "http://127.0.0.2:9").encode()
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        raw = raw.replace("{trap}".encode(encoding), base.decode().encode(encoding))
    return raw


def run_feed(case: dict[str, Any], servers: Servers) -> None:
    from services.ingest import feeds
    from services.ingest.items import entry_page

    expect = case.get("expect", {})
    if "vector" in case:
        paragraphs = "".join(f"<p>{text}</p>" for text in body_of({"article": {}}).decode().split("<p>")[1:3])
        raw = rss([{"title": "Council approves the plan", "link": "https://news.example/a",
                    "description": "<p>" + paragraphs.split("<p>", 2)[1] + case["vector"] + paragraphs}]).encode()
    else:
        raw = _with_trap(body_of(case["body"]), servers)
    trap_before = servers.trap.requests if servers.trap else 0
    try:
        listing = _guard((ValueError,))(feeds.listing, raw, "https://news.example/feed.xml", case.get("charset"))
    except Refused as refused:
        _expect_error(refused, expect)
        return
    finally:
        if servers.trap:  # an external entity or DTD pointing there was never fetched
            assert servers.trap.requests == trap_before, "the trap server on a private address was reached"
    assert "error" not in expect, f"expected {expect['error']}, got a feed of {len(listing.items)} items"
    if "entries" in expect:
        assert len(listing.items) == expect["entries"], [item.url for item in listing.items]
    if "title" in expect:
        assert re.search(expect["title"], listing.title or ""), listing.title
    for text in _texts(expect, "titles_contain"):
        assert any(text in (item.title or "") for item in listing.items), [item.title for item in listing.items]
    for item in listing.items:
        assert len(item.title or "") < 100_000, "an entry title grew past any feed's (entity expansion?)"
        assert "root:" not in (item.title or "") + (item.summary or "") + (item.content or ""), "a local file was read"
        if not (item.content or item.summary):
            continue
        try:  # what a poll hands the clean stage for an entry that carries its content
            part = _guard()(_clean, entry_page(item), item.url, "utf-8")
        except Refused:
            continue  # a refused entry is a dead letter with its reason: no HTML to check
        _check_article(part, f"{case['id']} entry {item.url}")


def run_xml(case: dict[str, Any], servers: Servers) -> None:
    from lxml import etree

    from services.ingest.xmlsafe import XMLSafetyError, parse_xml

    expect = case.get("expect", {})
    trap_before = servers.trap.requests if servers.trap else 0
    try:
        root = _guard((XMLSafetyError,), documented=r"^(not well-formed XML|no XML document|unterminated DOCTYPE)")(
            parse_xml, _with_trap(body_of(case["body"]), servers))
    except Refused as refused:
        _expect_error(refused, expect)
        return
    finally:
        if servers.trap:
            assert servers.trap.requests == trap_before, "the trap server on a private address was reached"
    assert "error" not in expect, f"expected {expect['error']}, parsed <{root.tag}>"
    text = etree.tostring(root, encoding="unicode")
    assert "root:" not in text, "a local file was read"
    assert len(text) < 1_000_000, "entity expansion"
    for value in _texts(expect, "contains"):
        assert value in text, text[:500]


# -- the API (hooks and other inputs) -------------------------------------------------------------------------
class Api:
    def __init__(self, client, hooks: dict[str, tuple[str, str]], operator: str, reader: str) -> None:  # noqa: ANN001
        self.client, self.hooks, self.operator, self.reader = client, hooks, operator, reader


@pytest.fixture(scope="module")
def api(fresh_database) -> Iterator[Api]:  # noqa: ANN001, F811
    from fastapi.testclient import TestClient

    from newswire.embedded import override_environment
    from services.api.app import app
    from services.api.console.access import create_token
    from services.hooks import config

    with override_environment(API_ENV):
        hooks = {}
        for key, actions, scheme in (("std", ["reingest", "retract"], "standard"),
                                     ("single", ["reingest"], "standard"), ("gh", ["reingest"], "github")):
            name = f"hostile-{key}-{uuid.uuid4().hex[:6]}"
            hooks[key] = (name, config.add_hook(name, actions, scheme=scheme, max_body_bytes=65536,
                                                actor="hostile tests").secret)
        with TestClient(app, follow_redirects=False) as client:
            yield Api(client, hooks, create_token("operator", "hostile")[0], create_token("read-only", "hostile")[0])


def _signed_headers(call: dict[str, Any], api: Api, body: bytes, previous: dict[str, str]) -> dict[str, str]:
    import base64
    import hashlib
    import hmac
    from datetime import datetime, timedelta, timezone

    from standardwebhooks.webhooks import Webhook

    hook = call.get("hook", "std")
    secret = api.hooks[hook][1] if hook in api.hooks else "whsec_" + base64.b64encode(b"x" * 32).decode()
    msg_id = call.get("id", f"msg_{uuid.uuid4().hex}")
    if msg_id == "{previous}":
        msg_id = previous.get("webhook-id") or previous.get("X-GitHub-Delivery")
    elif isinstance(msg_id, dict):
        msg_id = body_of(msg_id).decode()
    sign = call.get("sign", "valid")
    if sign == "none":
        headers = {}
    elif str(sign).startswith("github"):
        key = "wrong-secret" if sign == "github-wrong" else secret
        headers = {"X-Hub-Signature-256": "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest(),
                   "X-GitHub-Delivery": msg_id}
    else:
        offset = float(sign.get("offset", 0)) if isinstance(sign, dict) else 0.0
        when = datetime.now(timezone.utc) + timedelta(seconds=offset)
        key = "whsec_" + base64.b64encode(b"not-the-hook-secret-0123456789ab").decode() if sign == "wrong" else secret
        signed = body_of(call["signed_body"]) if "signed_body" in call else body
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
                   "webhook-signature": Webhook(key).sign(msg_id, when, signed.decode("utf-8", "replace"))}
    headers["Content-Type"] = "application/json"
    headers.update({k: str(v) for k, v in (call.get("headers") or {}).items()})
    # Header values as bytes: a hostile caller sends what it likes (httpx would refuse non-ASCII text).
    return {k: v if v.isascii() else v.encode() for k, v in headers.items()}


def _expect_answer(response, expect: dict[str, Any], where: str) -> None:  # noqa: ANN001
    assert response.status_code < 500, f"{where}: a server error {response.status_code}: {response.text[:500]}"
    if "status" in expect:
        statuses = expect["status"] if isinstance(expect["status"], list) else [expect["status"]]
        assert response.status_code in statuses, f"{where}: {response.status_code} {response.text[:500]}"
    if "detail" in expect:
        assert re.search(expect["detail"], response.text, re.I | re.S), f"{where}: {response.text[:500]}"
    for key, value in (expect.get("json") or {}).items():
        assert response.json().get(key) == value, f"{where}: {key} in {response.text[:500]}"


def run_hook(case: dict[str, Any], _servers: Servers, api: Api) -> None:
    previous: dict[str, str] = {}
    for number, call in enumerate(case["calls"], 1):
        body = body_of(call.get("body", {"json": {"url": "http://127.0.0.2:9/hostile.html"}}))
        headers = _signed_headers(call, api, body, previous)
        hook = call.get("hook", "std")
        name = api.hooks[hook][0] if hook in api.hooks else hook
        response = api.client.post(f"/hooks/{name}", content=body, headers=headers)
        _expect_answer(response, call.get("expect", {}), f"{case['id']} call {number}")
        previous = headers


def run_api(case: dict[str, Any], _servers: Servers, api: Api) -> None:
    request = case["request"]
    token = request.get("token", "operator")
    headers = {"Authorization": f"Bearer {api.operator if token == 'operator' else api.reader}"} \
        if token in ("operator", "reader") else ({"Authorization": token} if token != "none" else {})
    headers.update(request.get("headers", {}))
    query = {k: str(body_of(v).decode() if isinstance(v, dict) else v) for k, v in (request.get("query") or {}).items()}
    content = body_of(request["body"]) if "body" in request else None
    if content is not None:
        headers.setdefault("Content-Type", "application/json")
    response = api.client.request(request.get("method", "GET"), request["path"], params=query, content=content,
                                  headers=headers)
    _expect_answer(response, case.get("expect", {}), case["id"])


STAGES = {"http": run_http, "page": run_page, "clean": run_clean, "sanitize": run_sanitize, "feed": run_feed,
          "xml": run_xml, "hook": run_hook, "api": run_api}


@pytest.mark.parametrize("case", _params())
def test_hostile_case(case: dict[str, Any], servers: Servers, request: pytest.FixtureRequest) -> None:
    stage = STAGES[case["stage"]]
    if case["stage"] in ("hook", "api"):
        stage(case, servers, request.getfixturevalue("api"))
    else:
        stage(case, servers)


def test_the_corpus_is_large_and_covers_every_stage() -> None:
    assert len(CASES) >= 200, len(CASES)
    assert {case["stage"] for case in CASES} == set(STAGES)


def test_the_trap_counts_what_reaches_it(servers: Servers) -> None:
    """The private-address invariant can fail: with private networks allowed, a fetch of the trap is counted."""
    from shared import http
    from shared.settings import Settings

    if servers.trap is None:
        pytest.skip("127.0.0.2 cannot be bound here")
    before = servers.trap.requests
    servers.trap.add("/trap-self-check", Route(body=b"inside"))
    response = http.fetch(servers.trap.base + "/trap-self-check",
                          settings=Settings(**{**HTTP_SETTINGS, "allow_private_networks": "1"}))
    assert response.content == b"inside" and servers.trap.requests == before + 1
