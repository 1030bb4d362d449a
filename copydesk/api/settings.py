"""The server's limits, in one place (``copydesk serve`` options set them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiSettings:
    """Limits for one server. Defaults suit a sender calling at send time."""

    #: Largest request body accepted (bytes); a bigger one gets 413 before it is parsed.
    max_body_bytes: int = 1024 * 1024
    #: Most contacts in one ``decide:batch`` call.
    max_batch: int = 100
    #: Requests per second each token may make (a token bucket)...
    rate_per_second: float = 50.0
    #: ...and how many it may make at once after a quiet spell.
    burst: int = 100
    #: Invalid tokens a second one client address may send, and at once, before 429s.
    auth_failures_per_second: float = 5.0
    auth_failure_burst: int = 20
    #: How often (seconds) a campaign file and the template files are checked for edits;
    #: the library itself (approvals, retires, sends) is checked on every call.
    file_check_seconds: float = 1.0
    #: Most send-history records given with one contact.
    max_history: int = 1000
