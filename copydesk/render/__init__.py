"""Rendering: the Jinja sandbox, channel templates, audience files and the streaming pipeline."""

from copydesk.render.audience import Record, Reject, RowWriter, file_format, read_rows
from copydesk.render.pipeline import Summary, render_campaign
from copydesk.render.templates import ChannelTemplate, MessageRenderer, load_channel_template

__all__ = [
    "ChannelTemplate",
    "MessageRenderer",
    "Record",
    "Reject",
    "RowWriter",
    "Summary",
    "file_format",
    "load_channel_template",
    "read_rows",
    "render_campaign",
]
