"""Structured logs: one JSON object per line with article id, source, stage and task id; the same ids in the trace."""

from __future__ import annotations

import json
import logging

import pytest

from conftest import wait_until
from shared.telemetry import CONTEXT_FIELDS, ContextFilter, JsonFormatter, log_context
from tests.console.conftest import article_html, published, story_paragraphs, submit


def test_every_line_is_json_with_the_context_ids(capsys) -> None:  # noqa: ANN001
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("newswire.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside")
        with log_context(article_id="a-1", source="example.org", stage="clean", task_id="t-1"):
            logger.warning("inside %s", "a task")
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert len(lines) == 3
    for line in lines:
        assert set(CONTEXT_FIELDS) <= set(line)
    assert lines[0]["article_id"] is None
    assert (lines[1]["article_id"], lines[1]["source"], lines[1]["stage"], lines[1]["task_id"]) == \
        ("a-1", "example.org", "clean", "t-1")
    assert lines[1]["message"] == "inside a task"
    assert "ValueError: boom" in lines[2]["exception"]


@pytest.mark.pipeline
def test_worker_logs_carry_the_ids_of_the_trace(pipeline, site) -> None:  # noqa: ANN001
    import uuid

    url = site.add(f"/logs-{uuid.uuid4().hex}.html", article_html("Log story", story_paragraphs("Logtown")))
    accepted = submit(pipeline, url)
    article = published(pipeline, accepted["id"])
    trace = {step["stage"]: step for step in article["versions"][0]["trace"]}
    for stage in ("clean", "enrich", "publish"):
        task_id = trace[stage]["task_id"]
        assert task_id, stage

        def lines() -> list[dict] | None:
            text = (pipeline.logs / f"worker-{stage}.log").read_text(encoding="utf-8", errors="replace")
            found = [json.loads(line) for line in text.splitlines()
                     if line.startswith("{") and task_id in line]
            return [line for line in found if line["task_id"] == task_id] or None

        mine = wait_until(lines, timeout=10, message=f"{stage} log lines of task {task_id}")
        assert all(line["stage"] == stage for line in mine)
        assert any(line["article_id"] == accepted["id"] and line["source"] == "127.0.0.1" for line in mine), mine
