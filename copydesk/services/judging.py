"""The judge a workspace's ``judge`` rules ask: its configured LLM endpoint (never the
embedded demo model), with the verdict cache in ``store/judge-cache.db``.

Building it is cheap and touches nothing: the settings are read, but the client is
made and the cache file opened only when a judge rule first needs them.
"""

from __future__ import annotations

from typing import Any

from copydesk.errors import CopydeskError
from copydesk.guardrails.judge import Judge
from copydesk.guardrails.judge_cache import JudgeCache
from copydesk.services.endpoints import endpoint_settings
from copydesk.workspace import Workspace

CACHE_FILE = "judge-cache.db"


def workspace_judge(ws: Workspace, **overrides: Any) -> Judge:
    """The judge for ``ws`` (settings as :func:`endpoint_settings` reads them, with
    ``overrides``). Unusable LLM settings make a judge that reports every judge rule as
    not run, naming the problem, rather than an error that stops every check."""
    try:
        settings = endpoint_settings(ws, **overrides)
    except CopydeskError as exc:
        return Judge.unavailable(f"the LLM settings are unusable: {exc}")
    return Judge.from_settings(settings, JudgeCache(ws.store_dir / CACHE_FILE))
