"""A local WordPress REST API: the endpoints the WordPress target uses, with application-password auth.

POST /wp-json/wp/v2/posts (create), POST /wp-json/wp/v2/posts/<id> (update), DELETE /wp-json/wp/v2/posts/<id>
(move to trash; ``force=true`` would delete), GET /wp-json/wp/v2/posts?slug=...&status=any (find).
"""

from __future__ import annotations

import base64
import json
import threading
from urllib.parse import parse_qs, urlsplit

from tests.publish.receivers import Answer, Receiver, Request

PREFIX = "/wp-json/wp/v2/posts"


class WordPress:
    def __init__(self, username: str, password: str) -> None:
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.posts: dict[int, dict] = {}
        self.next_id = 100
        self.lock = threading.Lock()
        self.receiver = Receiver()
        self.receiver.handler = self.handle
        self.site = f"http://127.0.0.1:{self.receiver.port}"

    @staticmethod
    def _json(status: int, value: object) -> Answer:
        return Answer(status, {"Content-Type": "application/json"}, json.dumps(value).encode())

    def handle(self, request: Request) -> Answer:
        if request.headers.get("authorization") != self.auth:
            return self._json(401, {"code": "rest_not_logged_in", "message": "You are not currently logged in."})
        parts = urlsplit(request.path)
        if not parts.path.startswith(PREFIX):
            return self._json(404, {"code": "rest_no_route"})
        rest = parts.path[len(PREFIX):].strip("/")
        with self.lock:
            if request.method == "GET" and not rest:
                query = parse_qs(parts.query)
                slug = query.get("slug", [None])[0]
                return self._json(200, [p for p in self.posts.values() if p["slug"] == slug])
            if request.method == "POST" and not rest:
                fields = json.loads(request.body)
                post_id = self.next_id
                self.next_id += 1
                self.posts[post_id] = {"id": post_id, **fields, "revisions": 1}
                return self._json(201, self.posts[post_id])
            if not rest.isdigit() or int(rest) not in self.posts:
                return self._json(404, {"code": "rest_post_invalid_id"})
            post = self.posts[int(rest)]
            if request.method == "POST":
                post.update(json.loads(request.body))
                post["revisions"] += 1
                return self._json(200, post)
            if request.method == "DELETE":
                post["status"] = "trash"
                return self._json(200, post)
        return self._json(405, {"code": "rest_no_route"})

    def close(self) -> None:
        self.receiver.close()
