"""The sandbox answers ``obj.name`` on a plain dict from the dict directly: the answer must
be Jinja's own, for keys, dict methods, dunders and missing names alike."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from copydesk.render.sandbox import make_env

DATA = {"subject": "Hi", "items": "a key that is also a method name", "get": 3, "__class__": "sneaky",
        "é": "accent", "": "empty"}
NAMES = ["subject", "items", "get", "keys", "missing", "__class__", "__init__", "mro", "pop", "update", "clear"]


def _outcome(env: Any, name: str) -> Any:
    template = env.from_string("{{ (d." + name + ") is defined }}|{{ d." + name + " }}")
    try:
        return re.sub(r" at 0x[0-9a-f]+", "", template.render(d=dict(DATA)))  # a method's address
    except (UndefinedError, SecurityError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("name", NAMES)
def test_dict_attribute_lookup_answers_as_jinja_does(name: str) -> None:
    jinja = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    assert _outcome(make_env(), name) == _outcome(jinja, name)


def test_attribute_lookup_on_other_objects_is_jinja_s() -> None:
    env = make_env()
    with pytest.raises(SecurityError):
        env.from_string("{{ s.__class__ }}").render(s="text")
    assert env.from_string("{{ s.upper() }}").render(s="abc") == "ABC"
