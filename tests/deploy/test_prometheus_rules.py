"""deploy/prometheus/newswire-rules.yaml: the alert rules are well formed, use only metrics that GET /metrics really
serves, point at sections of docs/operations.md that exist, and behave as their unit tests say.

* always: the structure (every alert has an expression, a duration, a severity, a summary, a description and a
  runbook anchor that exists), every metric name in the expressions is served by the running pipeline's /metrics
  (scraped and parsed with prometheus_client), the issue's alert topics are all covered;
* where promtool is installed (Debian's prometheus package): ``promtool check rules`` and ``promtool test rules``
  on deploy/prometheus/newswire-rules.test.yaml, plus a broken copy that promtool must reject (skipped without).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "newswire-rules.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "newswire-rules.test.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
SEVERITIES = {"critical", "warning", "info"}
# PromQL words that look like metric names but are functions, keywords or label names.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "absent", "and", "or", "unless", "on", "by", "without",
    "ignoring", "group_left", "group_right", "bool", "offset", "humanizeDuration", "humanizePercentage",
}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def metric_names(expression: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expression)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", without_ranges))
    grouping = set(re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", without_ranges))
    labels = {label.strip() for group in grouping for label in group.split(",")}
    return {name for name in names if name not in PROMQL_WORDS and name not in labels and not name.isdigit()}


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors, plus explicit <a id="..."> anchors."""
    found = set(re.findall(r'<a id="([^"]+)"', markdown))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_alert_is_complete() -> None:
    all_rules = rules()
    assert len(all_rules) >= 8
    names = [rule["alert"] for rule in all_rules]
    assert len(names) == len(set(names)), "alert names repeat"
    documented = anchors(OPERATIONS.read_text(encoding="utf-8"))
    for rule in all_rules:
        assert re.fullmatch(r"Newswire[A-Z][A-Za-z]+", rule["alert"]), rule["alert"]
        assert rule["expr"].strip()
        assert re.fullmatch(r"\d+[smh]", rule["for"]), f"{rule['alert']}: `for` avoids paging on one bad scrape"
        assert rule["labels"]["severity"] in SEVERITIES
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"]
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "docs/operations.md" and anchor in documented, (
            f"{rule['alert']}: runbook {annotations['runbook']} is not a section of docs/operations.md")


def test_the_issues_alert_topics_are_covered() -> None:
    used = {name for rule in rules() for name in metric_names(rule["expr"])}
    assert "newswire_queue_oldest_age_seconds" in used, "queue age"
    assert "newswire_tasks_total" in used and "newswire_deliveries_total" in used, "failure rate"
    assert "newswire_workers" in used, "workers down"
    assert "newswire_target_disabled" in used, "targets disabled"
    assert "newswire_source_suspended" in used, "sources suspended"


def test_metric_name_extraction() -> None:
    expression = 'sum by (stage) (rate(newswire_tasks_total{outcome="failed"}[15m])) / on (stage) newswire_x > 0.05'
    assert metric_names(expression) == {"newswire_tasks_total", "newswire_x"}


@pytest.mark.pipeline
def test_rules_use_only_metrics_that_metrics_serves(pipeline) -> None:  # noqa: ANN001
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(pipeline.api_url + "/metrics", timeout=30)
    assert response.status_code == 200
    served: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        served.add(family.name)
        served.update(sample.name for sample in family.samples)
        if family.type == "counter":
            served.add(family.name + "_total")
        if family.type == "histogram":
            served.update(family.name + suffix for suffix in ("_bucket", "_sum", "_count"))
    for rule in rules():
        unknown = metric_names(rule["expr"]) - served
        assert not unknown, f"{rule['alert']} uses metrics /metrics does not serve: {sorted(unknown)}"


# -- promtool, where it exists ------------------------------------------------------------------
def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return found


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_promtool_unit_tests_of_the_rules() -> None:
    result = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True,
                            timeout=120, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_broken_rules(tmp_path: Path) -> None:
    broken = RULES.read_text(encoding="utf-8").replace("> 600", "> > 600", 1)
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    result = subprocess.run([promtool(), "check", "rules", str(tmp_path / "broken.yaml")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """The same unit tests against rules whose threshold moved must fail: they test something."""
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    moved = RULES.read_text(encoding="utf-8").replace("newswire_queue_oldest_age_seconds) > 600",
                                                      "newswire_queue_oldest_age_seconds) > 6000", 1)
    assert moved != RULES.read_text(encoding="utf-8")
    (tmp_path / RULES.name).write_text(moved, encoding="utf-8")
    result = subprocess.run([promtool(), "test", "rules", RULE_TESTS.name], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode != 0
