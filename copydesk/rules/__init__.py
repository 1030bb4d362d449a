"""The rule engine: campaign files, conditions, deterministic assignment, decisions.

Pure functions of their inputs; nothing here touches the store, the UI or the network.
"""

from copydesk.rules.campaign import Campaign, CampaignFile, load_campaign, parse_campaign
from copydesk.rules.conditions import TraceStep
from copydesk.rules.decide import Decision, EligibleLibrary, Outcome, Plan, decide
from copydesk.rules.explain import explain_dict, explain_text

__all__ = [
    "Campaign",
    "CampaignFile",
    "Decision",
    "EligibleLibrary",
    "Outcome",
    "Plan",
    "TraceStep",
    "decide",
    "explain_dict",
    "explain_text",
    "load_campaign",
    "parse_campaign",
]
