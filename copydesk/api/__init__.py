"""The read-only HTTP API (``copydesk serve``): approved content and send-time decisions
for ESPs and data teams, on the same service layer as the CLI and the app. Nothing here
writes to the library except the audit record of token use (docs/reference/api.md).

The app is :func:`copydesk.api.app.create_app`; nothing is imported here, so the CLI does
not load FastAPI unless it serves."""
