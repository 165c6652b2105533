"""The publish commands (typer's runner, this process, the session's store and Redis) and a small bench run."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tests.publish.conftest import SECRET_A, deliveries_of, drain_until_settled, make_article, unique
from tests.publish.receivers import Answer

pytestmark = pytest.mark.usefixtures("publish_env")


def test_cli_explain_retract_targets_and_replay(receiver, tmp_path) -> None:  # noqa: ANN001
    from newswire.cli import cli
    from newswire.embedded import override_environment
    from services.publish import engine
    from services.publish.targets import configured_targets

    name = unique("cli")
    path = f"/{name}"
    targets_file = tmp_path / "targets.yaml"
    targets_file.write_text(yaml.safe_dump({"targets": [
        {"name": name, "url": receiver.url(path), "secrets": [SECRET_A], "schedule": [0]},
        {"name": unique("unreachable"), "url": "http://10.255.255.1/hook", "secrets": [SECRET_A]}]}))
    runner = CliRunner()
    with override_environment({"NEWSWIRE_TARGETS_FILE": str(targets_file)}):
        configured_targets.cache_clear()
        try:
            target = configured_targets()[name]
            receiver.script(path, [Answer(500)])
            article_id, version_id = make_article()
            engine.plan(version_id, {name: target})
            drain_until_settled(target)
            [failed] = deliveries_of(article_id)
            assert failed["status"] == "failed"

            listed = runner.invoke(cli, ["targets", "list", "--json"])
            assert listed.exit_code == 0, listed.output
            assert {i["name"]: i for i in json.loads(listed.stdout)["items"]}[name]["deliveries"] == {"failed": 1}

            checked = runner.invoke(cli, ["targets", "check"])
            assert checked.exit_code == 1 and "private" in checked.output and f"{name} (webhook" in checked.output

            replayed = runner.invoke(cli, ["deliveries", "replay", "--target", name])
            assert replayed.exit_code == 0 and json.loads(replayed.stdout.splitlines()[-1])["replayed"] == 1
            drain_until_settled(target)
            assert deliveries_of(article_id)[0]["status"] == "delivered"

            retracted = runner.invoke(cli, ["retract", article_id, "--note", "wrong photo"])
            assert retracted.exit_code == 0, retracted.output
            assert json.loads(retracted.stdout.splitlines()[-1])["targets"] == [name]
            drain_until_settled(target)
            assert receiver.at(path)[-1].json()["type"] == "article.retracted"

            explained = runner.invoke(cli, ["explain", article_id, "--json"])
            shown = json.loads(explained.stdout)
            assert shown["events"][0]["kind"] == "retract" and shown["events"][0]["note"] == "wrong photo"
            events = {d["event"]: d["status"] for d in shown["versions"][0]["targets"][0]["deliveries"]}
            assert events == {"publish": "delivered", "retract": "delivered"}
            assert runner.invoke(cli, ["explain", "no-such-article"]).exit_code == 1
            assert runner.invoke(cli, ["retract", "no-such-article"]).exit_code == 1
            assert runner.invoke(cli, ["deliveries", "replay"]).exit_code == 2
        finally:
            configured_targets.cache_clear()


def test_bench_publish_prints_its_figures_and_no_duplicates() -> None:
    from newswire.bench_publish import run_publish_bench

    result = run_publish_bench(deliveries=60, progress=False)
    assert set(result) >= {"deliveries_per_s", "bare_per_s", "ratio", "duplicates"}
    assert result["duplicates"] == 0 and result["received"] == 60
    assert result["ratio"] == pytest.approx(result["deliveries_per_s"] / result["bare_per_s"], rel=0.01)
