"""Klaviyo's ``lookup`` filter for the Django engine the Klaviyo proof renders with:
``{{ person|lookup:'Favourite activity' }}`` reads a custom profile property by name
(Klaviyo's documented form for property names); a missing property is ``None``."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter(name="lookup")
def lookup(obj: Any, key: str) -> Any:
    """``obj[key]`` for a mapping, else ``None`` (Django's ``default`` then applies)."""
    return obj.get(key) if isinstance(obj, dict) else None
