"""One exception hierarchy for every stage.

``transient`` tells the task shell what to do: retry with backoff, or give up
at once and write a dead letter. ``reason`` is what an operator reads.
"""

from __future__ import annotations


class NewswireError(Exception):
    transient: bool = False

    def __init__(self, reason: str, *, transient: bool | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if transient is not None:
            self.transient = transient

    def __str__(self) -> str:
        return self.reason


class PermanentError(NewswireError):
    """Retrying cannot help: the input is wrong."""


class WorkerLostError(PermanentError):
    """A message's worker process died under it again and again (a crash in a library, out of memory, an exit):
    see shared/crash_guard.py."""


class TransientError(NewswireError):
    """Retrying later may help: a network fault, a server busy, a lock."""

    transient = True


# -- fetching ---------------------------------------------------------------
class FetchError(NewswireError):
    """Base for everything the safe HTTP client refuses or fails at."""


class BlockedAddressError(FetchError):
    """The URL resolves to an address we do not call (loopback, private, link-local...)."""


class InvalidURLError(FetchError):
    """The URL is not an http(s) URL we can fetch."""


class TooLargeError(FetchError):
    """The body is larger than the configured limit."""


class TooManyRedirectsError(FetchError):
    pass


class FetchTimeoutError(FetchError):
    transient = True


class ConnectError(FetchError):
    transient = True


class HTTPStatusError(FetchError):
    def __init__(self, reason: str, *, status_code: int, retry_after: float | None = None) -> None:
        transient = status_code in (408, 425, 429) or status_code >= 500
        super().__init__(reason, transient=transient)
        self.status_code = status_code
        self.retry_after = retry_after


class UnsupportedContentError(FetchError):
    """The response is not something this stage can read (an image for a page, say)."""


# -- stages -----------------------------------------------------------------
class ExtractionError(PermanentError):
    """The clean stage found no article in the page."""


class DeliveryError(NewswireError):
    def __init__(
        self, reason: str, *, transient: bool, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, transient=transient)
        self.status_code = status_code
        self.retry_after = retry_after
