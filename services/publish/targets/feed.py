"""A feed channel served by the API at /feeds/<name>.atom, .rss and .json: what the rules let through.

Nothing is sent: a delivery to a feed is recorded as delivered when planned, and the channel's feeds list the
latest delivery of each article (a retraction shows as a deleted entry / canceled item).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.settings import get_settings
from services.publish.targets.base import Outgoing, Sent, TargetBase


class FeedTarget(TargetBase):
    kind: Literal["feed"] = "feed"
    title: str | None = None
    description: str | None = None
    size: int = Field(50, ge=1, le=1000, description="entries per page")
    pushes: bool = Field(False, exclude=True)

    @property
    def url(self) -> str:
        return f"{get_settings().public_url.rstrip('/')}/feeds/{self.name}.atom"


def send(target: FeedTarget, outgoing: Outgoing) -> Sent:  # noqa: ARG001  (never called: feeds are read)
    return Sent(None, excerpt="served in the feed")
