"""The read-only HTTP API (``copydesk serve``): approved content and send-time decisions
for ESPs and data teams, on the same service layer as the CLI and the app. Nothing here
writes to the library except the audit record of token use (docs/reference/api.md)."""

from copydesk.api.app import create_app
from copydesk.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
