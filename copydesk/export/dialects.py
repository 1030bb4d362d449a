"""Imports every platform module so that each registers its dialect."""

from __future__ import annotations

from copydesk.export import braze, hubspot, iterable, klaviyo, mailchimp, sfmc

#: The order dialects are offered in (CLI help, the app).
ORDER = ("braze", "iterable", "klaviyo", "mailchimp", "sfmc", "hubspot")

__all__ = ["braze", "hubspot", "iterable", "klaviyo", "mailchimp", "sfmc"]
