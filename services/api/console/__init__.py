"""The operator console at /console: overview, sources, targets, dead letters, stories, audit; its JSON API
under /console/api; the audit log at /audit-log. Access by API token (see access.py)."""

from services.api.console.routes import router

__all__ = ["router"]
