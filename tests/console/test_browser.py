"""The console in a real browser (headless Chromium driven by Playwright) against the real pipeline.

Skipped, with the reason, where Chromium (Debian's package: /usr/bin/chromium) or the playwright package is
missing. Screenshots go to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import wait_until
from tests.console.conftest import article_html, bearer, paused_consumer, published, story_paragraphs, submit

pytestmark = pytest.mark.pipeline

CHROMIUM = os.environ.get("NEWSWIRE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

if sync_playwright is None:
    pytest.skip("playwright is not installed (pip install playwright; it is in the test extra)", allow_module_level=True)
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set NEWSWIRE_CHROMIUM)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser, api_url: str, token: str):  # noqa: ANN001, ANN201
    """A page signed in through the login form, as a person would."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(api_url + "/console")
    assert "/console/login" in page.url
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_url(api_url + "/console")
    return page


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def clean_queued(page) -> int:  # noqa: ANN001
    return int(page.locator('tr[data-stage="clean"] td.queued').get_attribute("data-value"))


def test_overview_shows_a_queue_growing_while_its_workers_are_paused(pipeline, site, browser, tokens) -> None:  # noqa: ANN001
    api = pipeline.api_url
    page = signed_in(browser, api, tokens["read-only"])
    run = uuid.uuid4().hex[:8]
    urls = [site.add(f"/browser-{run}/{n}.html", article_html(f"Queue story {n} {run}",
                                                              story_paragraphs(f"Queue{n}{run}")))
            for n in range(8)]
    with paused_consumer("clean"):
        first = [submit(pipeline, url) for url in urls[:3]]
        # The page updates itself (polling): no reload here.
        wait_until(lambda: clean_queued(page) >= 2, timeout=30, interval=0.5, message="queue shown growing")
        seen_first = clean_queued(page)
        rest = [submit(pipeline, url) for url in urls[3:]]
        wait_until(lambda: clean_queued(page) >= seen_first + 4, timeout=30, interval=0.5,
                   message="queue shown growing further")
        page.wait_for_timeout(1500)  # let the oldest message age and a sample be drawn
        page.keyboard.press("p")  # pause live updates for a steady screenshot
        shot(page, "overview-queue-paused")
        assert clean_queued(page) >= seen_first + 4
        age = page.locator('tr[data-stage="clean"] td').nth(2).inner_text()
        assert age != "–", "the oldest message's age is shown"
        page.keyboard.press("p")
    for item in first + rest:
        published(pipeline, item["id"])
    wait_until(lambda: all(v == "0" for v in page.locator("td.queued").evaluate_all("els => els.map(e => e.dataset.value)")),
               timeout=30, interval=0.5, message="every queue shown drained")
    assert page.locator("#workers tbody tr").count() >= 4
    shot(page, "overview-drained")
    page.context.close()


def test_dead_letter_replayed_from_the_page_reaches_the_target(pipeline, site, sink, browser, tokens) -> None:  # noqa: ANN001
    from shared.payload import article_id_for

    api = pipeline.api_url
    run = uuid.uuid4().hex[:8]
    url = site.add(f"/browser-{run}/refused.html", article_html(f"Refused then replayed {run}",
                                                                story_paragraphs(f"Replay{run}")))
    article_id = article_id_for(url)
    sink.fail_next(article_id, 1, status=400)  # refused for good: a dead letter of the publish stage
    submit(pipeline, url)
    operator = bearer(tokens["operator"])

    def letter() -> dict | None:
        items = httpx.get(api + "/console/api/dead-letters", params={"stage": "publish", "target": "webhook"},
                          headers=operator).json()["items"]
        return next((item for item in items if item["article_id"] == article_id), None)

    dead = wait_until(letter, timeout=60, message="the delivery dead-lettered")
    assert len(sink.for_article(article_id)) == 1

    page = signed_in(browser, api, tokens["operator"])
    page.goto(api + "/console/dead-letters?stage=publish")
    row = page.locator(f'tr[data-id="{dead["id"]}"]')
    row.wait_for()
    shot(page, "dead-letters-before-replay")
    row.locator("button.replay").click()
    page.locator(".notice").filter(has_text="1 done").wait_for(timeout=15000)
    wait_until(lambda: len(sink.for_article(article_id)) == 2, timeout=30, message="the replayed delivery arrived")
    assert sink.for_article(article_id)[-1].status == 204

    # The story view: search by URL, see the timeline to the target, the delivery delivered on its 2nd attempt.
    page.fill("#story-search", url)
    page.press("#story-search", "Enter")
    page.wait_for_url(f"{api}/console/stories/{article_id}")

    def delivered() -> bool:
        page.reload()
        return page.locator('tr.delivery[data-target="webhook"] .pill').inner_text() == "delivered"

    wait_until(delivered, timeout=20, interval=1, message="delivery shown delivered")
    stages = page.locator('li.step[data-kind="stage"]').evaluate_all("els => els.map(e => e.dataset.what)")
    assert stages[:4] == ["ingest", "clean", "enrich", "publish"]
    outcomes = page.locator('li.step[data-kind="delivery"]').evaluate_all("els => els.map(e => e.dataset.outcome)")
    assert outcomes == ["failed", "ok"]
    assert page.locator('li.step[data-kind="dead-letter"]').count() == 1
    assert page.locator('li.step[data-kind="action"][data-what="dead_letter.replay"]').count() == 1
    shot(page, "story-after-replay")
    # The targets panel: the webhook with its deliveries, success rate and latency; never its secret.
    from conftest import WEBHOOK_SECRET

    page.goto(api + "/console/targets")
    row = page.locator('tr[data-target="webhook"]')
    assert "delivered" in row.inner_text()
    shot(page, "targets")
    targets = httpx.get(api + "/console/api/targets", headers=operator)
    webhook = next(t for t in targets.json()["items"] if t["name"] == "webhook")
    assert webhook["deliveries"].get("delivered", 0) >= 1 and webhook["attempts_24h"] >= 2
    assert 0 < webhook["success_rate_24h"] < 1 and webhook["latency_p50_ms"] is not None
    assert WEBHOOK_SECRET not in targets.text and WEBHOOK_SECRET[6:] not in page.content()
    audit = httpx.get(api + "/audit-log", params={"action": "dead_letter.replay"}, headers=operator).json()["items"]
    assert audit[0]["result"] == "ok" and audit[0]["actor"].startswith("test operator")
    page.context.close()


def test_read_only_user_sees_no_action_buttons_and_the_api_refuses(pipeline, browser, tokens) -> None:  # noqa: ANN001
    from shared.store.dead_letters import record_dead_letter

    api = pipeline.api_url
    letter_id = record_dead_letter(stage="clean", task="clean.process", payload={"url": "http://127.0.0.1:9/ro.html"},
                                   error=ValueError("read-only check"), attempts=1)
    page = signed_in(browser, api, tokens["read-only"])
    page.goto(api + "/console/dead-letters?stage=clean")
    page.locator(f'tr[data-id="{letter_id}"]').wait_for()
    assert page.locator("button.replay, button.discard, button.replay-selected, button.replay-all").count() == 0
    assert page.locator("input[type=checkbox][name=ids]").count() == 0
    assert page.locator(".role-read-only").count() == 1
    shot(page, "read-only-dead-letters")
    # The keyboard alone: j to the first row, Enter opens it, g o back to the overview, / to the story search.
    page.locator("main").focus()
    page.keyboard.press("j")
    assert page.locator("[data-rows] tbody tr.current").count() == 1
    first = page.locator("[data-rows] tbody tr.current").get_attribute("data-id")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{api}/console/dead-letters/{first}")
    page.keyboard.press("g")
    page.keyboard.press("o")
    page.wait_for_url(f"{api}/console")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "story-search"
    page.goto(f"{api}/console/dead-letters/{letter_id}")
    assert page.locator("button").filter(has_text="Replay").count() == 0
    page.goto(api + "/console/sources")
    assert page.locator("td.actions").count() == 0

    # The same action sent from this browser session, as the page's script would send it: refused.
    answer = page.request.post(api + "/console/api/dead-letters/replay",
                               form={"ids": str(letter_id)}, headers={"X-Requested-With": "newswire-console"})
    assert answer.status == 403
    assert "read-only" in answer.json()["detail"]
    refused = httpx.post(api + "/console/api/dead-letters/discard", json={"ids": [letter_id]},
                         headers=bearer(tokens["read-only"]))
    assert refused.status_code == 403
    state = httpx.get(f"{api}/console/api/dead-letters/{letter_id}", headers=bearer(tokens["read-only"])).json()
    assert state["status"] == "open"
    page.goto(api + "/console/audit")
    assert page.locator("tr.result-denied").count() >= 2
    shot(page, "audit-denied")
    page.context.close()


def test_discard_selected_and_all_matching_from_the_page(pipeline, browser, tokens) -> None:  # noqa: ANN001
    from shared.store.dead_letters import record_dead_letter

    api = pipeline.api_url
    marker = uuid.uuid4().hex[:12]
    ids = [record_dead_letter(stage="clean", task="clean.process", payload={"url": f"http://127.0.0.1:9/{marker}/{n}"},
                              error=ValueError(f"bulk {marker}"), attempts=1) for n in range(4)]
    page = signed_in(browser, api, tokens["operator"])
    page.goto(f"{api}/console/dead-letters?error={marker}")
    page.locator(f'tr[data-id="{ids[-1]}"]').wait_for()
    # Select the first row with the keyboard (j, x), then "Discard selected".
    page.locator("main").focus()
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("input[name=ids]:checked").count() == 1
    page.locator("button.discard-selected").click()
    page.locator(".notice").filter(has_text="1 done").wait_for(timeout=15000)
    operator = bearer(tokens["operator"])

    def status(letter_id: int) -> str:
        return httpx.get(f"{api}/console/api/dead-letters/{letter_id}", headers=operator).json()["status"]

    assert status(ids[-1]) == "discarded"  # newest first: the first row
    # The rest by filter, after the page asks to confirm.
    page.goto(f"{api}/console/dead-letters?error={marker}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("button.discard-all").click()
    page.locator(".notice").filter(has_text="3 done").wait_for(timeout=15000)
    assert [status(i) for i in ids] == ["discarded"] * 4
    shot(page, "dead-letters-bulk-discarded")
    page.context.close()
