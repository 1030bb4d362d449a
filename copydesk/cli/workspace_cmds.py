"""``copydesk init`` and ``copydesk app``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from copydesk.cli.common import console, workspace
from copydesk.cli.display import lit


def init(
    directory: Path = typer.Argument(..., help="New workspace folder."),
    brand: str = typer.Option(None, help="Brand name for copydesk.yaml."),
) -> None:
    """Scaffold a workspace: prompts/ guardrails/ templates/ campaigns/ briefs/ audiences/ store/."""
    from copydesk.scaffold import init_workspace

    ws = init_workspace(directory, brand=brand)
    console.print(f"created workspace {lit(ws.root)}")
    console.print(f"next: cd {lit(directory)} && copydesk user add admin --role admin")


def app_cmd(
    port: int = typer.Option(8501, help="Port on 127.0.0.1."),
) -> None:
    """Start the Streamlit app on this workspace."""
    ws = workspace()
    from copydesk.ui import app as ui_app

    script = Path(ui_app.__file__).resolve()
    env = {**os.environ, "COPYDESK_WORKSPACE": str(ws.root)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    raise typer.Exit(subprocess.call(cmd, env=env))


def register(app: typer.Typer) -> None:
    """Add ``init`` and ``app``."""
    app.command("init")(init)
    app.command("app")(app_cmd)
