"""Newswire's shared package: payload, settings, Celery app, store, safe HTTP client, telemetry."""
