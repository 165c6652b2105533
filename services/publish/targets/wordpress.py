"""WordPress through its REST API, with an application password: the first version creates a post, later
versions update that same post, a retraction moves it to the trash.

A retried create first looks the post up by its slug (``newswire-<article id>``), so an answer lost on the way
back never makes a second post.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shared import http
from shared.errors import FetchError
from services.publish.targets.base import Outgoing, SendError, Sent, TargetBase, check_status, excerpt


class WordPressTarget(TargetBase):
    kind: Literal["wordpress"] = "wordpress"
    site: str = Field(description="the site's base URL; the REST API is at <site>/wp-json/wp/v2")
    username: str
    password: str | None = Field(None, description="an application password (Users > Profile)")
    password_env: str | None = None
    status: Literal["publish", "draft", "pending", "private"] = "publish"
    categories: list[int] = Field(default_factory=list)
    timeout: float = Field(15.0, gt=0, le=120)

    @property
    def url(self) -> str:
        return self.site

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("site must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _password(self) -> "WordPressTarget":
        if self.password_env:
            self.password = os.environ.get(self.password_env) or self.password
        if not self.password:
            raise ValueError(f"target {self.name}: no application password (password or password_env)")
        return self


def slug(article_id: str) -> str:
    return f"newswire-{article_id}"


def _call(target: WordPressTarget, method: str, path: str, body: dict[str, Any] | None, key: str) -> http.Response:
    token = base64.b64encode(f"{target.username}:{target.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": "application/json", "Idempotency-Key": key}
    content = None
    if body is not None:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    url = f"{target.site}/wp-json/wp/v2{path}"
    try:
        response = http.request(method, url, content=content, headers=headers, max_bytes=2 * 1024 * 1024,
                                timeout=target.timeout, follow_redirects=False, raise_for_status=False)
    except FetchError as exc:
        raise SendError(exc.reason, transient=exc.transient) from exc
    check_status(f"{method} {url}", response.status_code, response.content,
                 http.parse_retry_after(response.headers.get("retry-after")))
    return response


def post_fields(target: WordPressTarget, document: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": document.get("title") or "",
        "content": document.get("html") or "",
        "excerpt": document.get("summary") or (document.get("text") or "")[:300],
        "status": target.status,
        "slug": slug(document["id"]),
    }
    if target.categories:
        fields["categories"] = target.categories
    if document.get("published"):
        fields["date_gmt"] = str(document["published"]).replace("Z", "")[:19]
    return fields


def _post_id(response: http.Response) -> str:
    try:
        return str(json.loads(response.content)["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SendError("WordPress answered without a post id", transient=False,
                        status_code=response.status_code, excerpt=excerpt(response.content)) from exc


def _find(target: WordPressTarget, outgoing: Outgoing) -> str | None:
    response = _call(target, "GET", f"/posts?slug={slug(outgoing.document['id'])}&status=any&context=edit", None,
                     outgoing.key)
    try:
        found = json.loads(response.content)
    except ValueError:
        return None
    return str(found[0]["id"]) if isinstance(found, list) and found and "id" in found[0] else None


def send(target: WordPressTarget, outgoing: Outgoing) -> Sent:
    post_id = outgoing.remote_id
    if post_id is None and outgoing.attempt > 1:
        post_id = _find(target, outgoing)
    if outgoing.event == "retract":
        if post_id is None:
            post_id = _find(target, outgoing)
            if post_id is None:
                return Sent(None, excerpt="no post to trash")
        response = _call(target, "DELETE", f"/posts/{post_id}", None, outgoing.key)
        return Sent(response.status_code, excerpt(response.content), remote_id=post_id)
    fields = post_fields(target, outgoing.document)
    path = f"/posts/{post_id}" if post_id else "/posts"
    response = _call(target, "POST", path, fields, outgoing.key)
    return Sent(response.status_code, excerpt(response.content), remote_id=post_id or _post_id(response))
