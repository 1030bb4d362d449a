"""Rule types, one module per family, each a compiled rule class with its pack model.

Importing this package imports every module in it, so each rule class registers
itself (see :mod:`copydesk.guardrails.rules.registry`): adding a rule type means
adding a module here, and nothing else changes. None of the modules imports a heavy
library when loaded (PII imports Presidio on first use).
"""

from __future__ import annotations

import importlib
import pkgutil

from copydesk.guardrails.rules.base import CompiledRule, Message
from copydesk.guardrails.rules.registry import RULE_TYPES, compile_rule, lexical_types, validate_rule

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

#: The lexical rule types as shipped (:func:`lexical_types` also sees later registrations).
LEXICAL_TYPES = lexical_types()

__all__ = [
    "CompiledRule",
    "Message",
    "compile_rule",
    "validate_rule",
    "lexical_types",
    "RULE_TYPES",
    "LEXICAL_TYPES",
]
