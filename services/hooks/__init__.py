"""Inbound webhooks: other systems ask Newswire to re-ingest a URL, ingest a pushed body, republish or retract
an article. Plain functions here; services/api/hooks.py is the HTTP face, services/hooks/tasks.py the Celery
shell, ``newswire hooks ...`` the command line.

- config: hooks and their secrets (add, rotate with a grace period, remove); secrets are shown once.
- verify: Standard Webhooks signatures (or GitHub's X-Hub-Signature-256), timestamps within +/- 5 minutes.
- intake: one inbound call from bytes to verdict: verified, validated, deduplicated, stored, then queued.
- jobs: accepted work, stored before it is queued; run, retried and swept; GET /jobs/{id} reads it.
- actions: what a job does (reingest, ingest, republish, retract), reusing the stages' own functions.
"""
