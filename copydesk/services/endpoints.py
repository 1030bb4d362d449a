"""Which LLM endpoint is used, how it is labelled, and a connection test.

The one home for these: ``copydesk llm check``, ``copydesk generate`` and the app's
Generate and Settings pages all call it. Settings come from the workspace's
``copydesk.yaml`` ``llm:`` mapping and the ``COPYDESK_LLM_*`` environment (see
:mod:`copydesk.llm.settings`); a command or page may override some of them for one run.
API keys only ever come from the environment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copydesk.errors import LLMError, NotFoundError, PrivacyError
from copydesk.llm import privacy
from copydesk.llm.client import Completion, LLMClient, Message, ResponseSchema
from copydesk.llm.factory import make_client
from copydesk.llm.parse import OutputInvalid, extract_json
from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.prompts import PromptLibrary, PromptTemplate, load_prompt
from copydesk.llm.settings import EMBEDDED_LABEL, LLMSettings, load_settings
from copydesk.vocab import Category, Severity
from copydesk.workspace import Workspace


def endpoint_settings(ws: Workspace, **overrides: Any) -> LLMSettings:
    """The workspace settings, with the given overrides (``None`` or blank: not given)."""
    given = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in overrides.items()}
    return load_settings(ws.config().llm, overrides=given, source=str(ws.config_path))


def endpoint_label(settings: LLMSettings) -> str:
    """How a person should read the endpoint (the embedded model is labelled as a demo)."""
    if settings.kind == "embedded":
        return f"{EMBEDDED_LABEL} — offline demo model: in process, no network, low quality"
    public = settings.public()
    where = public.get("azure_endpoint") if settings.kind == "azure" else public.get("base_url")
    model = settings.deployment or settings.model or "(no model set)"
    return f"{model} via {settings.kind} at {where or 'https://api.openai.com/v1'}"


#: The prompt of the connection test; a workspace made before it existed uses the sample's.
CHECK_PROMPT = "llm-verify"
#: Enough for ``{"ok": true, "sum": 42}`` with some slack (reasoning models get their
#: reasoning allowance on top).
CHECK_MAX_TOKENS = 40
CHECK_SCHEMA = ResponseSchema(
    name="llm_check",
    schema={
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "sum": {"type": "integer"}},
        "required": ["ok", "sum"],
        "additionalProperties": False,
    },
)


class CheckFailed(LLMError):
    """The endpoint answered, but not with the structured answer it was asked for."""


@dataclass(frozen=True)
class ConnectionResult:
    """What the check's round trip returned, verified."""

    answer: str
    latency: float
    model: str
    tokens: int
    #: The two numbers the model was asked to add.
    numbers: tuple[int, int] = (0, 0)
    #: Retries and corrections the request went through.
    events: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        answer = " ".join(self.answer.split())
        answer = answer if len(answer) <= 60 else answer[:59] + "…"
        a, b = self.numbers
        return (f"the endpoint answered {answer!r}, correct for {a} + {b}, in {self.latency:.2f}s "
                f"({self.tokens} tokens, model {self.model})")


def connection_test(
    ws: Workspace,
    settings: LLMSettings,
    client: LLMClient | None = None,
    *,
    policy: GuardrailPolicy | None = None,
    numbers: tuple[int, int] | None = None,
) -> ConnectionResult:
    """Ask the endpoint a short structured question (``llm-verify``: the sum of two
    numbers as ``{"ok": true, "sum": N}``) and check the answer.

    The request is screened for personal data like every generation request (the
    built-in detectors and the policy's PII rules; ``policy`` defaults to the workspace's,
    which fails closed when missing) and is not sent when it holds any. Raises
    :class:`LLMError` when the endpoint is dead, the key wrong or the model unknown, and
    :class:`CheckFailed`, with the reason, when the answer is not the right JSON."""
    rng = random.Random()
    a, b = numbers or (rng.randint(11, 49), rng.randint(11, 49))
    try:
        prompt = _check_prompt(ws).render(a=a, b=b)
        messages: list[Message] = [{"role": "user", "content": prompt.text}]
        if policy is None:
            from copydesk.guardrails import load_policy

            policy = load_policy(ws.policy_path)
        _screen({f"the check prompt ({prompt.id} v{prompt.version})": prompt.text}, policy)
        client = client or make_client(settings)
        completion = client.chat(messages, schema=CHECK_SCHEMA, max_tokens=CHECK_MAX_TOKENS, temperature=0.0)
    finally:
        if client is not None:
            client.close()
    verify_answer(completion, a + b)
    return ConnectionResult(completion.text, completion.latency, completion.model,
                            completion.usage.total_tokens, (a, b), completion.events)


def verify_answer(completion: Completion, expected: int) -> None:
    """Raise :class:`CheckFailed` unless ``completion`` is ``{"ok": true, "sum": expected}``
    (code fences and surrounding words tolerated, nothing else)."""
    said = " ".join(completion.text.split())
    shown = repr(said if len(said) <= 80 else said[:79] + "…") if said else "nothing"
    wanted = f'{{"ok": true, "sum": {expected}}}'
    if completion.truncated:
        hidden = completion.usage.reasoning_tokens
        hint = f"; {hidden} tokens went to hidden reasoning: raise reasoning_tokens" if hidden else ""
        raise CheckFailed(f"the answer was cut off at the token limit ({shown}){hint}")
    try:
        data = extract_json(completion.text)
    except OutputInvalid:
        raise CheckFailed(f"the endpoint answered {shown}, not the JSON object asked for ({wanted}); "
                          "it is reachable but this model does not follow instructions reliably") from None
    total = data.get("sum")
    if data.get("ok") is not True:
        raise CheckFailed(f"the endpoint answered {shown}: 'ok' is not true (asked for {wanted})")
    if isinstance(total, bool) or not isinstance(total, int | float) or total != expected:
        raise CheckFailed(f"the endpoint answered {shown}: the sum is wrong (asked for {wanted})")


def _check_prompt(ws: Workspace) -> PromptTemplate:
    try:
        return PromptLibrary(ws.prompts_dir).get(CHECK_PROMPT)
    except NotFoundError:
        from copydesk.scaffold import sample_root

        sample = Path(str(sample_root() / "prompts" / f"{CHECK_PROMPT}.j2"))
        if not sample.is_file():
            raise
        return load_prompt(sample)


def _screen(texts: dict[str, str], policy: GuardrailPolicy) -> None:
    """Raise :class:`PrivacyError` (values masked) when ``texts`` hold personal data:
    the same detectors as every generation request (:mod:`copydesk.llm.privacy`)."""
    found, _ = privacy._detect(texts, None, None)  # the built-in floor
    found += [f for f in policy.check_text(texts) if f.category == Category.PII and f.severity == Severity.BLOCK]
    if found:
        raise PrivacyError(
            f"personal data in the request about to be sent to the model, so it was not sent: "
            f"{privacy.describe([privacy.masked(f) for f in found])}. Check the prompt files in prompts/"
        )
