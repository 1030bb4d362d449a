"""Request bodies (``extra="forbid"``: an unknown key is a 422 naming it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DecideRequest(BaseModel):
    """One contact to decide for, and sends made elsewhere that the frequency cap should count."""

    model_config = ConfigDict(extra="forbid")

    contact: dict[str, Any] = Field(
        description="The contact's fields, as a row of a JSONL audience file: contact_id, consent_email, "
                    "lifecycle_stage, first_name, ... ISO dates are read as dates.",
        examples=[{"contact_id": "C1003", "lifecycle_stage": "onboarding", "consent_email": True,
                   "first_name": "Isla", "orders": 1}],
    )
    history: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Sends made outside copydesk: channel, sent_at (ISO), and optionally campaign_id, "
                    "variant_id, content_hash, rule_id, holdout. Added to the library's send history.",
        examples=[[{"channel": "email", "sent_at": "2026-11-27T10:00:00Z"}]],
    )


class BatchRequest(BaseModel):
    """Several contacts in one call; each is answered on its own (a bad one fails alone)."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(description="Objects of the single decide form: {contact, history}.")
