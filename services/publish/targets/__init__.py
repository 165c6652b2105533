"""Publish targets, one module per kind, each with its own validated config: webhook, feed, wordpress, files.

Targets come from a YAML file (NEWSWIRE_TARGETS_FILE) and/or one webhook from the environment
(NEWSWIRE_WEBHOOK_URL + NEWSWIRE_WEBHOOK_SECRET, several secrets space separated). Example::

    targets:
      - name: cms
        kind: webhook
        url: https://cms.example.com/hooks/newswire
        secrets_env: CMS_WEBHOOK_SECRETS      # whsec_... secrets, space separated
        format: ninjs                         # json (default), ninjs or newsml
        rate: 20                              # requests per second, across all workers
        concurrency: 4
        rules:
          - {name: chinese-politics, language: [zh], topic: [medtop:11000000]}
      - name: site
        kind: feed                            # /feeds/site.atom, .rss, .json
      - name: blog
        kind: wordpress
        site: https://blog.example.com
        username: newswire
        password_env: BLOG_APP_PASSWORD
      - name: archive
        kind: files
        directory: /srv/newswire/archive
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared import http
from shared.settings import Settings, get_settings
from services.publish.targets import feed, files, webhook, wordpress
from services.publish.targets.base import Outgoing, Rule, SendError, Sent, TargetBase
from services.publish.targets.feed import FeedTarget
from services.publish.targets.files import FilesTarget
from services.publish.targets.webhook import WebhookTarget, check_secret
from services.publish.targets.wordpress import WordPressTarget

Target = Annotated[Union[WebhookTarget, FeedTarget, WordPressTarget, FilesTarget], Field(discriminator="kind")]
SENDERS = {"webhook": webhook.send, "feed": feed.send, "wordpress": wordpress.send, "files": files.send}


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[Target] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _webhook_by_default(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("targets"), list):
            data = {**data, "targets": [{"kind": "webhook", **t} if isinstance(t, dict) and "kind" not in t else t
                                        for t in data["targets"]]}
        return data


def load_targets(settings: Settings | None = None) -> dict[str, TargetBase]:
    settings = settings or get_settings()
    targets: dict[str, TargetBase] = {}
    if settings.targets_file:
        document = yaml.safe_load(Path(settings.targets_file).read_text(encoding="utf-8")) or {}
        for target in TargetsFile.model_validate(document).targets:
            if target.name in targets:
                raise ValueError(f"target {target.name} is defined twice")
            targets[target.name] = target
    if settings.webhook_url:
        if not settings.webhook_secret:
            raise ValueError("NEWSWIRE_WEBHOOK_URL is set but NEWSWIRE_WEBHOOK_SECRET is not")
        if "webhook" in targets:
            raise ValueError("target webhook is defined twice (NEWSWIRE_WEBHOOK_URL and the targets file)")
        targets["webhook"] = WebhookTarget(name="webhook", url=settings.webhook_url,
                                           secrets=settings.webhook_secret.split(), timeout=settings.webhook_timeout)
    return targets


@lru_cache(maxsize=1)
def configured_targets() -> dict[str, TargetBase]:
    return load_targets()


def send(target: TargetBase, outgoing: Outgoing, connections: http.Connections | None = None) -> Sent:
    """Send one delivery; ``connections``: the sending thread's own keep-alive connections (webhooks use them)."""
    if connections is not None and isinstance(target, WebhookTarget):
        return webhook.send(target, outgoing, connections)
    return SENDERS[target.kind](target, outgoing)  # type: ignore[attr-defined]


__all__ = ["FeedTarget", "FilesTarget", "Outgoing", "Rule", "SendError", "Sent", "Target", "TargetBase",
           "TargetsFile", "WebhookTarget", "WordPressTarget", "check_secret", "configured_targets", "load_targets",
           "send"]
