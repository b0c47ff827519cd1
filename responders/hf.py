"""DialoGPT-class and T5-class reply generators through transformers, streamed token by token.

Loading (one loader each, used by tests and users alike): ``DialoGPTResponder.load(spec)`` /
``T5Responder.load(spec)`` where ``spec`` is a local folder (``save_pretrained`` layout), a
``pkg:<package>`` that ships one, or a hub id (``microsoft/DialoGPT-medium``, ``google/flan-t5-base``).
A hub id is fetched by ``from_pretrained`` only when ``HF_HUB_OFFLINE`` is not set; offline, a miss
is a ``ModelNotFoundError`` naming the command that downloads it.

Conditioning on the fused emotion (see ``responders.prompting``):

* **DialoGPT: control prefix.**  DialoGPT was trained on Reddit threads, not instructions, so a
  natural-language instruction is just more chat to it.  The estimate goes in as a tag on the
  latest user turn, ``<emotion=sad confidence=0.81> I lost my job``.  That is the input format of
  the emotion-conditioned dialogue work this reproduces (fine-tune on (tag, context) → reply
  pairs, e.g. EmpatheticDialogues with the fused label); an untuned checkpoint at least sees it as
  context.  The tag is never echoed to the user (``strip_tags``).
* **T5: instruction + control prefix.**  Flan-T5 follows instructions, so its encoder input starts
  with a one-line instruction naming the emotion and mood trend, followed by the tagged dialogue:
  the stock model gets an instruction it understands, and the input stays the same as what an
  emotion-fine-tuned T5 would be trained on.

Generation runs ``model.generate`` in a worker thread feeding a ``TextIteratorStreamer``; the
reply stops at ``max_new_tokens`` or after ``max_sentences`` sentences, and closing the stream
early stops generation (a stopping criterion watches an event).  One generation at a time per
model (a lock): torch already uses every core it was given for one sequence.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.models import ModelNotFoundError, locate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders.base import ResponderError, limit_sentences
from emotion_agent.responders.prompting import MAX_HISTORY_TURNS, t5_input, tagged_turns

DIALOGPT_DEFAULT = "microsoft/DialoGPT-small"
T5_DEFAULT = "google/flan-t5-small"


@dataclass(frozen=True)
class HfOptions:
    """Generation settings for the transformers responders."""

    max_new_tokens: int = 48
    """Hard cap on generated tokens."""
    max_sentences: int = 2
    """The reply stops after this many complete sentences."""
    do_sample: bool = True
    """Greedy decoding makes DialoGPT repeat itself; sampling with a low temperature does not."""
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.2
    no_repeat_ngram_size: int = 3
    max_input_tokens: int = 512
    """Older dialogue is cut from the left beyond this many tokens."""
    token_timeout_s: float = 30.0
    """Longest wait for one token before the stream fails (a hung ``generate``)."""
    seed: int | None = 0
    """Sampling seed, set per reply (the same turn gives the same reply); None leaves torch's RNG alone."""


def is_hub_id(spec: str) -> bool:
    return "/" in spec and not spec.startswith(("/", ".", "~", "pkg:")) and not Path(spec).exists()


def resolve(spec: str | Path) -> str:
    """A local folder for ``spec``; a hub id is returned unchanged for ``from_pretrained`` to fetch."""
    text = str(spec)
    if is_hub_id(text):
        return text
    path = locate(text)
    if not path.is_dir():
        raise ModelNotFoundError(f"{path} is not a model folder (expected config.json and tokenizer files)")
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"no config.json in {path}: not a transformers model folder")
    return str(path)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")


def load_pretrained(spec: str | Path, model_cls: Any) -> tuple[Any, Any]:
    """(tokenizer, model in eval mode) from a folder, package or hub id, never downloading when offline."""
    from transformers import AutoTokenizer

    source = resolve(spec)
    hub = is_hub_id(source)
    local_only = _offline() or not hub
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        model = model_cls.from_pretrained(source, local_files_only=local_only)
    except OSError as exc:
        hint = f"huggingface-cli download {source}" if hub else "check the folder"
        raise ModelNotFoundError(
            f"cannot load {source!r} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            f"{'with internet run: ' if hub else ''}{hint}, or pass a local path") from exc
    model.eval()
    return tokenizer, model


def strip_tags(deltas: Iterable[str], max_tag: int = 48) -> Iterator[str]:
    """Drop ``<...>`` spans (an echoed control prefix) from a delta stream; a ``<`` left open for more
    than ``max_tag`` characters is passed through as text."""
    held = ""
    for delta in deltas:
        text = held + delta
        held = ""
        out = []
        i = 0
        while i < len(text):
            start = text.find("<", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.find(">", start)
            if end < 0:
                if len(text) - start <= max_tag:
                    held = text[start:]
                else:
                    out.append(text[start:])
                break
            i = end + 1
        piece = "".join(out)
        if piece:
            yield piece
    if held:
        yield held


class _HfResponder:
    """Shared streaming machinery; subclasses build the model inputs."""

    name = "hf"
    model_class = "AutoModelForCausalLM"
    default_spec = ""

    def __init__(self, model: Any, tokenizer: Any, options: HfOptions | None = None, name: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.options = options or HfOptions()
        if name:
            self.name = name
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str | Path | None = None, options: HfOptions | None = None,
             name: str | None = None) -> Self:
        """Load from a local folder, ``pkg:`` or hub id (default: ``cls.default_spec``)."""
        import transformers

        tokenizer, model = load_pretrained(spec or cls.default_spec, getattr(transformers, cls.model_class))
        return cls(model, tokenizer, options, name)

    def inputs(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def generate_kwargs(self) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {"max_new_tokens": o.max_new_tokens, "do_sample": o.do_sample,
                                  "repetition_penalty": o.repetition_penalty,
                                  "no_repeat_ngram_size": o.no_repeat_ngram_size}
        if o.do_sample:
            kwargs.update(temperature=o.temperature, top_p=o.top_p, top_k=o.top_k)
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        if pad is not None:
            kwargs["pad_token_id"] = pad
        if tok.eos_token_id is not None:
            kwargs["eos_token_id"] = tok.eos_token_id
        return kwargs

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        """Text deltas of a reply of at most ``options.max_sentences`` sentences."""
        try:
            inputs = self.inputs(history, estimate, context)
        except ValueError as exc:
            raise ResponderError(str(exc)) from exc
        with self._lock:
            yield from limit_sentences(strip_tags(self._generate(inputs)), self.options.max_sentences)

    def _generate(self, inputs: dict[str, Any]) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=self.options.token_timeout_s)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                if self.options.seed is not None and self.options.do_sample:
                    torch.manual_seed(self.options.seed)
                with torch.inference_mode():
                    self.model.generate(**inputs, **self.generate_kwargs(), streamer=streamer,
                                        stopping_criteria=StoppingCriteriaList([_Stop()]))
            except BaseException as exc:  # reported to the consumer below
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, name=f"{self.name}-generate", daemon=True)
        thread.start()
        try:
            try:
                for text in streamer:
                    if text:
                        yield text
            except Exception as exc:  # queue.Empty: no token within token_timeout_s
                raise ResponderError(f"{self.name}: no token within {self.options.token_timeout_s} s") from exc
            if failure:
                error = failure[0]
                raise ResponderError(f"{self.name} generation failed: {type(error).__name__}: {error}") from error
        finally:
            stop.set()
            thread.join(timeout=self.options.token_timeout_s)


class DialoGPTResponder(_HfResponder):
    """DialoGPT (GPT-2 architecture): turns joined by EOS, the emotion as a control prefix."""

    name = "dialogpt"
    model_class = "AutoModelForCausalLM"
    default_spec = DIALOGPT_DEFAULT

    def prompt_text(self, history: Sequence[Turn], estimate: EmotionEstimate | None) -> str:
        eos = self.tokenizer.eos_token or ""
        return eos.join(tagged_turns(history, estimate)) + eos

    def max_input_tokens(self) -> int:
        limit = self.options.max_input_tokens
        positions = getattr(self.model.config, "n_positions", None) or getattr(
            self.model.config, "max_position_embeddings", None)
        if positions:
            limit = min(limit, int(positions) - self.options.max_new_tokens)
        if limit < 8:
            raise ResponderError(f"{self.name}: max_new_tokens={self.options.max_new_tokens} leaves no room "
                                 f"for input in a {positions}-position model")
        return limit

    def inputs(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None) -> dict[str, Any]:
        import torch

        ids = self.tokenizer(self.prompt_text(history, estimate), return_tensors="pt")["input_ids"]
        ids = ids[:, -self.max_input_tokens():]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


class T5Responder(_HfResponder):
    """(Flan-)T5: instruction naming the emotion, then the tagged dialogue, into the encoder."""

    name = "t5"
    model_class = "AutoModelForSeq2SeqLM"
    default_spec = T5_DEFAULT

    def prompt_text(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
                    context: Mapping[str, Any] | None = None) -> str:
        return t5_input(history, estimate, context)

    def inputs(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None) -> dict[str, Any]:
        import torch

        limit = self.options.max_input_tokens
        for turns in range(MAX_HISTORY_TURNS, 0, -1):  # drop old turns, never the instruction
            enc = self.tokenizer(t5_input(history, estimate, context, max_turns=turns), return_tensors="pt")
            if enc["input_ids"].shape[1] <= limit:
                break
        else:  # one huge turn: keep the instruction's start and the turn's end
            ids = enc["input_ids"]
            ids = ids[:, list(range(limit // 4)) + list(range(ids.shape[1] - (limit - limit // 4), ids.shape[1]))]
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
