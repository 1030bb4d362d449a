"""Offline drafts the embedded demo model can be trusted with: it writes short lines,
copydesk writes the facts.

SmolLM2-135M cannot be asked for a whole message: it shouts, invents prices and e-mail
addresses, echoes the instructions and runs an SMS to several segments (issue 12). So the
embedded backend asks it for one short creative line per draft — a hook (the subject,
title or headline; with :data:`WRITE_OPENING`, also an opening sentence) — shaped by a llama.cpp grammar
(letters and plain punctuation only, a capital only at a word's start, a few words), a
few-shot prompt (``prompts/embedded-hook.j2``, ``prompts/embedded-opening.j2``) and a
token cap. Everything that is a fact is filled in *verbatim* by :func:`compose`: the
brief's key message, the registered offer's wording, the ``must_include`` phrases, the
disclaimer of any registered claim the copy makes, the SMS opt-out, the brand name and a
call to action chosen by lifecycle stage. Grounding therefore holds by construction:
the only model text in a draft has no digits and passes :func:`clean_line`, and every
candidate line is checked with the guardrail policy before it is kept (a line that
brings a block finding is replaced by the next candidate, then by a fact-only fallback).

The brief and policy reach the backend through :func:`drafting` (a context variable set
around a generation run, so a run's requests see their own brief), because the
``LLMClient.chat`` interface carries only messages. Measured effect and how the drafts
were judged: docs/methods/generation.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from copydesk.channels import Channel
from copydesk.llm import copycheck
from copydesk.llm.client import Usage
from copydesk.llm.policy import GuardrailPolicy
from copydesk.llm.prompts import PromptLibrary
from copydesk.models import Brief
from copydesk.vocab import Severity

#: The most characters a model-written line may have, per kind of line.
LINE_LIMITS: dict[str, int] = {"subject": 55, "title": 45, "headline": 60, "ad_headline": 30,
                               "opening": 110}
#: How many candidates are asked for per line before falling back to the facts alone.
CANDIDATES = 3
#: Whether the model also writes the body's opening sentence. Off: over the 8 sample
#: briefs a reviewer would keep 2 of its 11 openings (docs/methods/generation.md), and a
#: body of the brief's own words is approvable as it stands.
WRITE_OPENING = False
#: The SMS opt-out every marketing SMS carries (the form the sample brand's SMS use).
SMS_OPT_OUT = "Reply STOP to opt out."
#: A call to action per lifecycle stage: generic actions, never a fact.
STAGE_CTA: dict[str, str] = {
    "awareness": "Read more", "consideration": "Find out more", "onboarding": "Get started",
    "active": "Shop now", "dormant": "See what's new", "loyal": "Shop now",
}
#: Sampling for the short lines: tuned by hand on the sample briefs (hotter than 0.7
#: wanders off topic, colder repeats the few-shot lines).
SAMPLING: dict[str, Any] = {"temperature": 0.6, "top_p": 0.9, "top_k": 40,
                            "repeat_penalty": 1.1}

#: GBNF for a hook: 3-9 words, a capital only at a word's start (no shouting), no digits,
#: no symbols (no e-mail addresses, prices or markup).
HOOK_GRAMMAR = r"""
root ::= " "? first rest{2,8} "."?
first ::= [A-Z] [a-z']{0,12}
rest ::= ","? " " [A-Za-z] [a-z'-]{0,12}
"""
#: GBNF for an opening sentence: 5-16 words ending with a full stop.
OPENING_GRAMMAR = r"""
root ::= " "? first rest{4,15} "."
first ::= [A-Z] [a-z']{0,12}
rest ::= ","? " " [A-Za-z] [a-z'-]{0,12}
"""

#: One short line from the model: (prompt text, grammar, max_tokens, seed) -> (text, usage,
#: score). The score ranks the candidates that pass the checks (the embedded backend: minus
#: the tokens per word, so the plainest line wins).
LineWriter = Callable[[str, str, int, int], tuple[str, Usage, float]]
#: Is this word a real word? (the embedded backend: at most two tokens of the model's
#: vocabulary, which holds common English words whole; gibberish splits into many).
WordCheck = Callable[[str], bool]
#: Words that make an offer, a superlative or urgency: a line may use one only when the
#: brief's own text does (a 135M model adds "free" and "now" to anything).
RISKY_WORDS = frozenset({
    "free", "best", "cheap", "cheapest", "save", "saving", "sale", "discount", "off", "deal",
    "deals", "gift", "prize", "win", "now", "today", "tonight", "tomorrow", "hurry", "last",
    "only", "guaranteed", "guarantee", "perfect", "ever", "miss", "price", "bonus", "new",
    "freebie", "bargain", "limited", "exclusive", "instantly",
})


@dataclass(frozen=True)
class DraftingContext:
    """What the embedded backend needs to compose a draft for one brief."""

    brief: Brief
    policy: GuardrailPolicy
    brand: str
    prompts: PromptLibrary | None = None
    #: Approved copy of the same channel and stage, as {"topic": ..., "line": ...}
    #: few-shot examples of hooks (empty: the curated ones in the prompt file).
    examples: tuple[Mapping[str, str], ...] = ()


_CONTEXT: ContextVar[DraftingContext | None] = ContextVar("copydesk_offline", default=None)


@contextmanager
def drafting(
    brief: Brief, policy: GuardrailPolicy, brand: str, *, prompts: PromptLibrary | None = None,
    examples: Sequence[Mapping[str, str]] = (),
) -> Iterator[DraftingContext]:
    """Within this block, the embedded backend composes drafts for ``brief``."""
    ctx = DraftingContext(brief, policy, brand, prompts, tuple(examples))
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def current() -> DraftingContext | None:
    """The drafting context in force, if any."""
    return _CONTEXT.get()


@dataclass(frozen=True)
class Facts:
    """The verbatim facts of one brief, from the brief and the brand registries."""

    brand: str
    channel: Channel
    stage: str
    title: str
    key_message: str
    offer: str
    must_include: tuple[str, ...]
    must_avoid: tuple[str, ...]
    products: tuple[str, ...]
    #: (trigger terms, disclaimer) of each registered claim with a disclaimer.
    claims: tuple[tuple[tuple[str, ...], str], ...]
    greet_by_name: bool
    #: The brief's own text, lower-cased (goal, key message, title, offer, must-include).
    source: str = ""
    #: What the brief is about, lower-cased (title, goal, key message, must-include): a
    #: hook must share a word stem with it.
    topic: str = ""


def facts_of(ctx: DraftingContext) -> Facts:
    """The facts of ``ctx``'s brief: its own text, its registered offer's wording,
    the brand's products and claims (``policy.offer``, ``.brand``, ``.claims``)."""
    brief, policy = ctx.brief, ctx.policy
    offer = ""
    lookup = getattr(policy, "offer", None)
    if brief.offer and callable(lookup):
        found = lookup(brief.offer)
        if found is not None:
            offer = str(found.text) + (f" ({found.terms})" if getattr(found, "terms", "") else "")
    brand_registry = getattr(policy, "brand", None)
    products = tuple(getattr(brand_registry, "products", None) or ())
    claims = tuple(
        (tuple(c.triggers()), str(c.disclaimer))
        for c in (getattr(policy, "claims", None) or ()) if getattr(c, "disclaimer", "")
    )
    return Facts(
        brand=ctx.brand, channel=brief.channel, stage=brief.stage.value, title=brief.title.strip(),
        key_message=_sentence(brief.key_message), offer=offer,
        must_include=tuple(p.strip() for p in brief.must_include if p.strip()),
        must_avoid=tuple(p.strip().lower() for p in brief.must_avoid if p.strip()),
        products=products, claims=claims, greet_by_name="first_name" in brief.personalization,
        source=" ".join([brief.title, brief.goal, brief.key_message, offer, *brief.must_include,
                         *products]).lower(),
        topic=" ".join([brief.title, brief.goal, brief.key_message, *brief.must_include]).lower(),
    )


@dataclass(frozen=True)
class Lines:
    """The model's lines for one draft (None: not written, the facts stand alone)."""

    hook: str | None = None
    opening: str | None = None


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else text + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _contains(haystack: str, needle: str) -> bool:
    return needle.lower().rstrip(".") in haystack.lower()


def hook_kind(channel: Channel) -> tuple[str, str]:
    """The field the hook fills and its limit key, per channel."""
    return {
        Channel.EMAIL: ("subject", "subject"), Channel.PUSH: ("title", "title"),
        Channel.WEB: ("headline", "headline"), Channel.AD: ("headline", "ad_headline"),
        Channel.SMS: ("text", "title"),
    }[channel]


def fallback_hook(facts: Facts, variant: int) -> str:
    """A hook from the brief itself: its title, or for even variants its offer (without
    one, a note from the brand, so two fallback drafts still differ)."""
    limit = LINE_LIMITS[hook_kind(facts.channel)[1]]
    second = _capital(facts.offer) if facts.offer else f"A note from {facts.brand}"
    choices = [t for t in (facts.title, second) if t and len(t) <= limit]
    if not choices:
        return _trim_words(facts.title or facts.key_message.rstrip("."), limit)
    return choices[(variant - 1) % len(choices)]


def _trim_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:")


def _body_lines(facts: Facts, lines: Lines, variant: int) -> list[str]:
    """The key message, offer and required phrases, verbatim, after the opening."""
    out = [lines.opening] if lines.opening else []
    out.append(facts.key_message)
    if facts.offer and not _contains(facts.key_message, facts.offer):
        out.append(_sentence(_capital(facts.offer)))
    for phrase in facts.must_include:
        if not any(_contains(line, phrase) for line in out):
            if phrase in facts.products:
                out.append(f"Have a look at the {phrase} too.")
            else:
                out.append(_sentence(_capital(phrase)))
    if variant % 2 == 0 and len(out) > 2 and lines.opening:
        # a second draft leads with the facts, so the two read differently
        out[0], out[1] = out[1], out[0]
    return out


def _disclaimers(facts: Facts, text: str) -> list[str]:
    """The disclaimer of each registered claim ``text`` makes (and does not yet carry)."""
    out: list[str] = []
    for triggers, disclaimer in facts.claims:
        made = any(re.search(rf"\b{re.escape(t)}\b", text, re.IGNORECASE) for t in triggers)
        if made and not _contains(text, disclaimer):
            out.append(disclaimer)
    return out


def compose(facts: Facts, lines: Lines, variant: int = 1) -> dict[str, str]:
    """The channel's message fields: the model's lines (if any) around the facts,
    which are copied verbatim. Deterministic; needs no model."""
    hook = lines.hook or fallback_hook(facts, variant)
    greeting = 'Hi {{ first_name | default("there") }},' if facts.greet_by_name else "Hello,"
    cta = STAGE_CTA.get(facts.stage, "Find out more")
    body = _body_lines(facts, lines, variant)
    if facts.channel == Channel.EMAIL:
        text = "\n\n".join(body)
        paragraphs = [greeting, text, *_disclaimers(facts, text), f"The {facts.brand} team"]
        preheader = _capital(facts.offer) if facts.offer and variant % 2 else ""
        if not preheader and len(facts.key_message) <= 100:
            preheader = facts.key_message
        return {"subject": hook, "preheader": preheader, "body": "\n\n".join(paragraphs),
                "cta": cta}
    if facts.channel == Channel.WEB:
        text = "\n\n".join(body)
        return {"headline": hook, "body": "\n\n".join([text, *_disclaimers(facts, text)]),
                "cta": cta}
    if facts.channel == Channel.PUSH:
        return {"title": hook, "body": _fit(body[1:] if lines.opening else body, 150, facts)}
    if facts.channel == Channel.AD:
        return {"headline": hook, "description": _fit(body[1:] if lines.opening else body, 90, facts)}
    return {"text": _sms(facts, lines)}


def _fit(parts: list[str], limit: int, facts: Facts) -> str:
    """As many of ``parts`` as fit in ``limit`` characters (the first always), with the
    disclaimers the kept text needs."""
    kept: list[str] = []
    for part in parts:
        if kept and len(" ".join([*kept, part])) > limit:
            continue
        kept.append(part)
    text = " ".join(kept)
    return " ".join([text, *_disclaimers(facts, text)])


def _sms(facts: Facts, lines: Lines) -> str:
    """``Brand: hook. Key message. Offer. Required phrases. Reply STOP to opt out.`` in
    one segment when it fits: the hook goes first, then the rest (never the facts)."""
    budget = copycheck.BUDGETS[Channel.SMS]["text"]
    facts_only = _body_lines(facts, Lines(), 1)
    hook = _sentence(lines.hook) if lines.hook else None
    for with_hook in ((True, False) if hook else (False,)):
        parts = [f"{facts.brand}:", *([hook] if with_hook and hook else []), *facts_only]
        text = " ".join(parts)
        text = " ".join([text, *_disclaimers(facts, text), SMS_OPT_OUT])
        if copycheck.measure(text, budget) <= 1:
            return text
    return text


_STOP_END = frozenset({
    "a", "an", "and", "or", "the", "to", "for", "of", "with", "your", "my", "our", "in", "on",
    "at", "is", "are", "but", "so", "as", "by", "from", "this", "that", "next",
})
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|me|my|mine)\b", re.IGNORECASE)
_ECHO = re.compile(r"\b(?:topic|subject|headline|opening|line|brief|variant|write|prompt|"
                   r"copywriter|sentence)\b", re.IGNORECASE)


def _stem(word: str) -> str:
    return word.lower()[:4]


def clean_line(text: str, kind: str, facts: Facts, known: WordCheck | None = None) -> str | None:
    """``text`` as a usable line of ``kind`` (a :data:`LINE_LIMITS` key), or None: too
    long or short, with a digit or symbol, shouting, in the first person, echoing the
    instructions, ending mid-phrase, naming a phrase the brief avoids, using an offer or
    urgency word the brief does not, with a word ``known`` rejects (gibberish), a hook
    off the brief's topic (no word stem in common with it), or failing the copy checks."""
    line = " ".join(text.strip().strip("\"'").split())
    words = re.findall(r"[A-Za-z'-]+", line)
    if not line or len(line) > LINE_LIMITS[kind] or len(words) < 3:
        return None
    if re.search(r"[^A-Za-z ,.!?'’-]", line):  # digits, £, %, @, markup
        return None
    if sum(w.isupper() and len(w) > 1 for w in words) > 0:
        return None
    if _FIRST_PERSON.search(line) or _ECHO.search(line):
        return None
    if words[-1].lower() in _STOP_END or line.count("!") > 1:
        return None
    lowered = line.lower()
    if any(avoid in lowered for avoid in facts.must_avoid):
        return None
    source_words = set(re.findall(r"[a-z']+", facts.source))
    if any(w.lower() in RISKY_WORDS and w.lower() not in source_words for w in words):
        return None
    if known is not None and any(w.lower() not in source_words and not known(w) for w in words):
        return None
    if re.sub(r"[^a-z ]", "", lowered).strip() in re.sub(r"[^a-z ]", "", facts.key_message.lower()):
        return None  # the key message's own words: it follows in the copy anyway
    # on topic: a word stem in common with the brief (a 135M model drifts: "A lot has
    # changed on this planet" for a tent)
    stems = {_stem(w) for w in re.findall(r"[a-z']+", facts.topic) if len(w) >= 4 and w not in _STOP_END}
    if not any(_stem(w) in stems for w in words if len(w) >= 4):
        return None
    if kind != "opening":
        line = line.rstrip(".")
    if copycheck.problems({"line": line}, facts.channel):
        return None
    if kind == "opening" and not line.endswith((".", "!", "?")):
        line += "."
    return line


@dataclass
class Composition:
    """A composed draft and what producing it cost."""

    fields: dict[str, str]
    lines: Lines
    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    rejected: list[str] = field(default_factory=list)


def _blocks(ctx: DraftingContext, fields: Mapping[str, str]) -> int:
    findings = ctx.policy.check(ctx.brief.channel, fields, brief=ctx.brief)
    return sum(1 for f in findings if f.severity == Severity.BLOCK)


def write_draft(
    ctx: DraftingContext, prompts: PromptLibrary, writer: LineWriter, *, variant: int = 1,
    round_: int = 0, seed: int = 0, known: WordCheck | None = None, opening: bool | None = None,
) -> Composition:
    """One composed draft for ``ctx``'s brief: a hook and (for long-form channels) an
    opening from ``writer``, each the best-scored of :data:`CANDIDATES` candidates that
    pass :func:`clean_line` and add no block finding to the composed draft (the first on
    a tie); a fact-only fallback otherwise. ``round_`` (a re-ask or revision) shifts the
    seeds and examples. ``opening``: ask for the opening line too (default
    :data:`WRITE_OPENING`)."""
    facts = facts_of(ctx)
    result = Composition(fields={}, lines=Lines())
    shift = (variant - 1) * 2 + round_
    base_seed = seed + variant * 1000 + round_ * 100
    field_name, kind = hook_kind(facts.channel)
    label = {"subject": "Subject line", "title": "Title", "headline": "Headline"}.get(
        field_name, "Headline")
    hook = _ask(ctx, prompts, writer, result, facts, "embedded-hook", kind, HOOK_GRAMMAR,
                base_seed, shift, label, lambda line: Lines(hook=line), variant, known)
    lines = Lines(hook=hook)
    if (WRITE_OPENING if opening is None else opening) and facts.channel in (Channel.EMAIL, Channel.WEB):
        opening_line = _ask(ctx, prompts, writer, result, facts, "embedded-opening", "opening",
                       OPENING_GRAMMAR, base_seed + 50, shift, "Opening",
                       lambda line: Lines(hook=hook, opening=line), variant, known)
        lines = Lines(hook=hook, opening=opening_line)
    result.lines = lines
    result.fields = compose(facts, lines, variant)
    return result


def _ask(
    ctx: DraftingContext, prompts: PromptLibrary, writer: LineWriter, result: Composition,
    facts: Facts, prompt_id: str, kind: str, grammar: str, seed: int, shift: int, label: str,
    as_lines: Callable[[str], Lines], variant: int, known: WordCheck | None,
) -> str | None:
    prompt = prompts.render(prompt_id, brand=facts.brand, topic=facts.key_message, label=label,
                            examples=list(ctx.examples), shift=shift)
    max_tokens = 24 if kind != "opening" else 40
    best: tuple[float, str] | None = None
    for i in range(CANDIDATES):
        text, usage, score = writer(prompt.text.rstrip(), grammar, max_tokens, seed + i)
        result.usage = result.usage + usage
        result.calls += 1
        line = clean_line(text, kind, facts, known)
        if line is None:
            result.rejected.append(f"{kind}: {text.strip()!r} (shape)")
            continue
        if _blocks(ctx, compose(facts, as_lines(line), variant)):
            result.rejected.append(f"{kind}: {line!r} (guardrail block)")
            continue
        if best is None or score > best[0]:
            best = (score, line)
    return None if best is None else best[1]
