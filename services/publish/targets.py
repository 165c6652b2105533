"""Publish targets: from a YAML targets file (NEWSWIRE_TARGETS_FILE) and/or one webhook from the environment.

Example (deploy/targets.example.yaml)::

    targets:
      - name: cms
        kind: webhook
        url: https://cms.example.com/hooks/newswire
        secrets_env: CMS_WEBHOOK_SECRETS   # whsec_... secrets, space separated
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.settings import Settings, get_settings

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_secret(secret: str) -> str:
    if not secret.startswith("whsec_"):
        raise ValueError("webhook secrets are Standard Webhooks secrets: 'whsec_' followed by base64")
    try:
        raw = base64.b64decode(secret[len("whsec_"):] + "==", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"webhook secret is not valid base64: {exc}") from exc
    if len(raw) < 24:
        raise ValueError("webhook secret is too short: use at least 24 random bytes (32 recommended)")
    return secret


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["webhook"] = "webhook"
    url: str
    secrets: list[str] = Field(default_factory=list, description="whsec_ secrets; several sign at once during rotation")
    secrets_env: str | None = None
    timeout: float = 10.0
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("target names are lower-case letters, digits, '-' and '_' (at most 64)")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("webhook url must be http(s)")
        return value

    @model_validator(mode="after")
    def _secrets(self) -> "WebhookTarget":
        if self.secrets_env:
            self.secrets = self.secrets + os.environ.get(self.secrets_env, "").split()
        if not self.secrets:
            raise ValueError(f"target {self.name}: no secret (give secrets, or secrets_env naming a variable)")
        self.secrets = [check_secret(secret) for secret in self.secrets]
        return self


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[WebhookTarget] = Field(default_factory=list)


def load_targets(settings: Settings | None = None) -> dict[str, WebhookTarget]:
    settings = settings or get_settings()
    targets: dict[str, WebhookTarget] = {}
    if settings.targets_file:
        document = yaml.safe_load(Path(settings.targets_file).read_text(encoding="utf-8")) or {}
        for target in TargetsFile.model_validate(document).targets:
            if target.name in targets:
                raise ValueError(f"target {target.name} is defined twice")
            targets[target.name] = target
    if settings.webhook_url:
        if not settings.webhook_secret:
            raise ValueError("NEWSWIRE_WEBHOOK_URL is set but NEWSWIRE_WEBHOOK_SECRET is not")
        targets["webhook"] = WebhookTarget(
            name="webhook", url=settings.webhook_url, secrets=settings.webhook_secret.split(),
            timeout=settings.webhook_timeout,
        )
    return targets


@lru_cache(maxsize=1)
def configured_targets() -> dict[str, WebhookTarget]:
    return load_targets()
