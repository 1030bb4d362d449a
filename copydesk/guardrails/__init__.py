"""Guardrails: brand and privacy policy packs, explainable findings, fast checks.

    from copydesk.guardrails import load_policy, Policy
    policy = load_policy("guardrails/")          # folder (entry policy.yaml) or pack file
    findings = policy.check("email", {"subject": ..., "body": ...}, brief=brief)
    brief_findings = policy.check_brief(brief)  # PII + injection before generation

See :mod:`copydesk.guardrails.loader` for the pack entry convention and
:mod:`copydesk.guardrails.pack` for the file format.
"""

from __future__ import annotations

from copydesk.guardrails.engine import Policy
from copydesk.guardrails.loader import PackError, load_policy
from copydesk.guardrails.pack import Claim, Offer
from copydesk.guardrails.selftest import RuleReport, run_policy_tests

__all__ = ["Policy", "load_policy", "PackError", "Claim", "Offer", "RuleReport", "run_policy_tests"]
