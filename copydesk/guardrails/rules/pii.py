"""Personal data in copy or briefs, found by Presidio pattern recognizers.

Presidio is slow to import, so this module does not import it: the first check with
something for a recognizer to look at does (loading packs never does). It runs with a
no-op NLP engine (no spaCy model, nothing downloaded) and only the recognizers a pack
asks for. Each recognizer runs only on text that has what it needs (an ``@`` for
e-mail, a run of digits for phone or card numbers...), which keeps clean copy cheap.
Every finding names the entity, score and recognizer, as Presidio explains its hits.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import Field

from copydesk.errors import PolicyError
from copydesk.guardrails.pack import RuleBase
from copydesk.guardrails.rules.base import CompiledRule, Hit, Message, collect
from copydesk.models import Finding

_DIGIT_RUN = re.compile(r"\d(?:[\s().+/-]{0,2}\d){5,}")
_IBANISH = re.compile(r"[A-Za-z]{2}\d{2}")
_IPISH = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{0,4}::?[0-9A-Fa-f]{1,4}:")


def _has_at(text: str) -> bool:
    return "@" in text


def _digits(text: str) -> bool:
    return _DIGIT_RUN.search(text) is not None


_FISCALISH = re.compile(r"\b[A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z]\d{3}[A-Za-z]\b")


def _fiscalish(text: str) -> bool:
    return _FISCALISH.search(text) is not None


def _ibanish(text: str) -> bool:
    return _IBANISH.search(text) is not None


def _ipish(text: str) -> bool:
    return _IPISH.search(text) is not None


#: entity -> (recognizer class name, cheap pre-check that must pass for a hit)
ENTITIES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "EMAIL_ADDRESS": ("EmailRecognizer", _has_at),
    "PHONE_NUMBER": ("PhoneRecognizer", _digits),
    "CREDIT_CARD": ("CreditCardRecognizer", _digits),
    "IBAN_CODE": ("IbanRecognizer", _ibanish),
    "IP_ADDRESS": ("IpRecognizer", _ipish),
    "US_SSN": ("UsSsnRecognizer", _digits),
    "UK_NINO": ("UkNinoRecognizer", _digits),
    "UK_NHS": ("NhsRecognizer", _digits),
    # national identifiers with a checksum, so a product code does not pass for one
    "ES_NIF": ("EsNifRecognizer", _digits),
    "ES_NIE": ("EsNieRecognizer", _digits),
    "IT_FISCAL_CODE": ("ItFiscalCodeRecognizer", _fiscalish),
    "PL_PESEL": ("PlPeselRecognizer", _digits),
    "IN_AADHAAR": ("InAadhaarRecognizer", _digits),
    "UK_DRIVING_LICENCE": ("UkDrivingLicenceRecognizer", _digits),
}

_LOCK = threading.Lock()


def _build_analyzer(entities: Sequence[str], phone_regions: Sequence[str]) -> Any:
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # never fetch the suffix list
    import logging

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, predefined_recognizers
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for entity in entities:
        cls = getattr(predefined_recognizers, ENTITIES[entity][0])
        if entity == "PHONE_NUMBER":
            registry.add_recognizer(cls(supported_regions=tuple(phone_regions)))
        else:
            # country recognizers default to their own language; the checked text is en
            registry.add_recognizer(cls(supported_language="en"))
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    return engine, nlp.process_text("", "en")


class Pii(RuleBase):
    """Personal data found by Presidio pattern recognizers (no NLP model)."""

    type: Literal["pii"]
    entities: dict[str, float] = Field(min_length=1, description="Presidio entity -> minimum score to report")
    phone_regions: list[str] = Field(default_factory=lambda: ["GB", "US"])


class PiiRule(CompiledRule):
    """Presidio hits at or above each entity's minimum score."""

    spec_model = Pii
    spec: Pii

    def __init__(self, spec: Pii, source: str, index: int) -> None:
        super().__init__(spec, source, index)
        unknown = sorted(set(spec.entities) - set(ENTITIES))
        if unknown:
            raise PolicyError(
                f"{source}: rule '{spec.id}': unknown PII entities {', '.join(unknown)}; known: {', '.join(ENTITIES)}"
            )
        self._engine: Any = None
        self._artifacts: Any = None

    def _analyzer(self) -> Any:
        if self._engine is None:
            with _LOCK:
                if self._engine is None:
                    self._engine, self._artifacts = _build_analyzer(list(self.spec.entities), self.spec.phone_regions)
        return self._engine

    def check(self, msg: Message, hits: Sequence[Hit]) -> list[Finding]:
        text = msg.text
        wanted = [e for e in self.spec.entities if ENTITIES[e][1](text)]
        if not wanted:
            return []
        engine = self._analyzer()
        results = engine.analyze(text, language="en", entities=wanted, nlp_artifacts=self._artifacts)
        found = []
        for r in sorted(results, key=lambda r: r.start):
            if r.score < self.spec.entities.get(r.entity_type, 1.0):
                continue
            meta = r.recognition_metadata or {}
            why = f"{r.entity_type}, score {r.score:.2f} by {meta.get('recognizer_name', '?')}"
            message = self.spec.message.replace("{entity}", why)
            found.append(msg.finding(self, r.start, r.end, message=message))
        return collect(found)
