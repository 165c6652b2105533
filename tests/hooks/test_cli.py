"""``newswire hooks ...``, ``newswire jobs ...`` and ``newswire republish`` on the session's store and workers."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import WEBHOOK_SECRET, wait_until
from tests.hooks.conftest import unique
from tests.publish.conftest import make_article

pytestmark = pytest.mark.pipeline


def test_hooks_commands_show_the_secret_once(pipeline) -> None:  # noqa: ANN001
    from newswire.cli import cli

    runner = CliRunner()
    name = unique("cli")
    added = runner.invoke(cli, ["hooks", "add", name, "--action", "republish", "--target", "webhook"])
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = runner.invoke(cli, ["hooks", "list"])
    shown = runner.invoke(cli, ["hooks", "show", name])
    assert listed.exit_code == 0 and shown.exit_code == 0
    assert secret not in listed.output and secret not in shown.output
    assert json.loads(shown.stdout)["actions"] == ["republish"]
    rotated = runner.invoke(cli, ["hooks", "rotate", name, "--grace", "60"])
    assert rotated.exit_code == 0 and rotated.stdout.strip().splitlines()[-1] != secret
    assert len(json.loads(runner.invoke(cli, ["hooks", "show", name]).stdout)["signing_keys"]) == 2
    bad = runner.invoke(cli, ["hooks", "add", unique("cli"), "--action", "explode"])
    assert bad.exit_code == 2 and "unknown action" in bad.output
    assert runner.invoke(cli, ["hooks", "remove", name]).exit_code == 0
    assert runner.invoke(cli, ["hooks", "show", name]).exit_code == 1


def test_republish_command_sends_once_per_key(pipeline, sink) -> None:  # noqa: ANN001
    from newswire.cli import cli
    from newswire.embedded import override_environment

    article_id, _ = make_article()
    runner = CliRunner()
    from services.publish.targets import configured_targets

    # The command runs in this process: the targets it reads are this environment's, not a cached earlier one.
    with override_environment({"NEWSWIRE_WEBHOOK_URL": sink.url, "NEWSWIRE_WEBHOOK_SECRET": WEBHOOK_SECRET}):
        configured_targets.cache_clear()
        try:
            first = runner.invoke(cli, ["republish", article_id, "--target", "webhook", "--key", "cms-42"])
            again = runner.invoke(cli, ["republish", article_id, "--target", "webhook", "--key", "cms-42"])
            unknown = runner.invoke(cli, ["republish", article_id, "--target", "nowhere"])
        finally:
            configured_targets.cache_clear()
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["targets"] == ["webhook"]
    assert json.loads(again.stdout)["duplicate"] is True
    assert unknown.exit_code == 1 and "no such target" in unknown.output
    wait_until(lambda: len(sink.for_article(article_id)) == 1, timeout=30, message="republished by the workers")
    jobs = runner.invoke(cli, ["jobs", "list", "--limit", "1"])
    assert jobs.exit_code == 0
