"""``/docs`` that works offline: the OpenAPI document rendered as plain HTML on the
server (FastAPI's Swagger UI loads its JavaScript from a CDN, and copydesk downloads
nothing at run time). The machine-readable document is ``/openapi.json``."""

from __future__ import annotations

import json
from html import escape
from typing import Any


def render(spec: dict[str, Any]) -> str:
    """A self-contained HTML page listing every operation of ``spec``."""
    info = spec.get("info", {})
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(str(info.get('title', 'API')))}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code,pre{background:#f4f4f4;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}"
        "h3{margin-top:2rem}.m{font-weight:bold;text-transform:uppercase}</style></head><body>",
        f"<h1>{escape(str(info.get('title', '')))} {escape(str(info.get('version', '')))}</h1>",
        f"<p>{escape(str(info.get('description', '')))}</p>",
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Every <code>/v1/</code> "
        "endpoint but <code>/v1/health</code> needs <code>Authorization: Bearer cdk_...</code>.</p>",
    ]
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            out.append(f"<h3><span class='m'>{escape(method)}</span> <code>{escape(path)}</code></h3>")
            out.append(f"<p>{escape(str(op.get('summary', '')))}</p>")
            if op.get("description"):
                out.append(f"<p>{escape(str(op['description']))}</p>")
            params = op.get("parameters") or []
            if params:
                out.append("<ul>" + "".join(
                    f"<li><code>{escape(str(p.get('name')))}</code> ({escape(str(p.get('in')))}"
                    f"{', required' if p.get('required') else ''})"
                    f"{': ' + escape(str(p['description'])) if p.get('description') else ''}</li>"
                    for p in params) + "</ul>")
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                out.append(f"<p>Body:</p><pre>{escape(json.dumps(_resolve(body, spec), indent=2))}</pre>")
    out.append("</body></html>")
    return "\n".join(out)


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], schema)
        return found
    return schema
