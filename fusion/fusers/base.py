"""What every fuser shares: the batched input, the protocol entry point ``fuse`` and its checks.

A fuser maps the experts' outputs for one window to one ``EmotionEstimate``.  Internally every fuser
works on a ``FusionBatch`` (B windows at once, modalities in ``MODALITIES`` order = face, voice,
text) and produces *uncalibrated* logits (B, 7) plus modality weights α (B, 3); ``fuse`` and
``predict_batch`` divide the logits by the fitted temperature (``calibration.py``) before the softmax:
one per set of present modalities, as a fuser's confidence is off by different amounts with one,
two or three of them.

Missing modalities are carried as ``present == False``; their slots in the arrays are zero-filled
by ``FusionBatch.sanitized`` so no fuser can ever read whatever garbage a caller put there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotion_agent.core.events import MODALITIES, EmotionEstimate, ExpertScores, Modality
from emotion_agent.core.labels import LABELS, NUM_LABELS, valence_arousal
from emotion_agent.core.numeric import softmax

NUM_MODALITIES = len(MODALITIES)
MODALITY_INDEX: dict[str, int] = {m: i for i, m in enumerate(MODALITIES)}


class NoModalityError(ValueError):
    """A window (or a row of a batch) has no modality present: there is nothing to fuse."""


@dataclass
class FusionBatch:
    """B windows of expert outputs, modalities in ``MODALITIES`` order.

    ``logits``: float32 (B, 3, 7) pre-softmax expert scores; ``confidence``: float32 (B, 3) in
    [0, 1]; ``present``: bool (B, 3); ``embeddings``: one float32 (B, d_m) tensor per modality.
    """

    logits: torch.Tensor
    confidence: torch.Tensor
    present: torch.Tensor
    embeddings: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return int(self.logits.shape[0])

    def check(self) -> None:
        """Raise a clear ``ValueError`` for malformed shapes or a row without any modality."""
        b = len(self)
        if self.logits.shape != (b, NUM_MODALITIES, NUM_LABELS):
            raise ValueError(f"logits must be (B, {NUM_MODALITIES}, {NUM_LABELS}), got {tuple(self.logits.shape)}")
        if self.confidence.shape != (b, NUM_MODALITIES) or self.present.shape != (b, NUM_MODALITIES):
            raise ValueError("confidence and present must be (B, 3)")
        if self.present.dtype != torch.bool:
            raise ValueError(f"present must be a bool tensor, got {self.present.dtype}")
        for m in MODALITIES:
            emb = self.embeddings.get(m)
            if emb is None or emb.ndim != 2 or emb.shape[0] != b:
                raise ValueError(f"embeddings[{m!r}] must be (B, d), got {None if emb is None else tuple(emb.shape)}")
        empty = ~self.present.any(dim=1)
        if bool(empty.any()):
            raise NoModalityError(
                f"no modality present in {int(empty.sum())} of {b} rows: at least one of face, voice, text is needed"
            )

    def sanitized(self) -> FusionBatch:
        """A copy with every missing modality's inputs set to exactly zero (NaN/inf included)."""
        self.check()
        p = self.present
        zero = torch.zeros((), dtype=torch.float32)
        logits = torch.where(p[..., None], self.logits.float(), zero)
        conf = torch.where(p, self.confidence.float(), zero)
        embs: dict[str, torch.Tensor] = {m: torch.where(p[:, i, None], self.embeddings[m].float(), zero) for i, m in enumerate(MODALITIES)}
        return FusionBatch(logits, conf, p, embs)

    def masked(self, keep: torch.Tensor) -> FusionBatch:
        """The same windows with ``present & keep`` (``keep``: bool (B, 3)); used for modality dropout."""
        return FusionBatch(self.logits, self.confidence, self.present & keep, self.embeddings)

    def index(self, idx: torch.Tensor | slice) -> FusionBatch:
        return FusionBatch(self.logits[idx], self.confidence[idx], self.present[idx],
                           {m: e[idx] for m, e in self.embeddings.items()})

    @classmethod
    def from_numpy(cls, logits: np.ndarray, confidence: np.ndarray, present: np.ndarray,
                   embeddings: Mapping[str, np.ndarray]) -> FusionBatch:
        return cls(
            torch.as_tensor(np.asarray(logits, dtype=np.float32)),
            torch.as_tensor(np.asarray(confidence, dtype=np.float32)),
            torch.as_tensor(np.asarray(present, dtype=bool)),
            {m: torch.as_tensor(np.asarray(embeddings[m], dtype=np.float32)) for m in MODALITIES},
        )


def subset_key(present: Sequence[bool] | np.ndarray) -> str:
    """``"face+voice"`` for a presence row (face, voice, text) — the key of per-subset temperatures."""
    return "+".join(m for m, p in zip(MODALITIES, present, strict=True) if p)


SUBSET_KEYS: tuple[str, ...] = tuple(
    subset_key(row) for row in ((f, v, t) for f in (True, False) for v in (True, False) for t in (True, False))
    if any(row)
)


def scores_logits(s: ExpertScores) -> np.ndarray:
    """An expert's logits (7,), or log-probabilities when it has none (same softmax)."""
    if s.logits is not None:
        return np.asarray(s.logits, dtype=np.float32).reshape(NUM_LABELS)
    return np.log(np.clip(np.asarray(s.probs, dtype=np.float64), 1e-8, 1.0)).astype(np.float32)


def scores_to_batch(scores: Mapping[Modality, ExpertScores | None],
                    embedding_dims: Mapping[str, int] | None = None) -> FusionBatch:
    """One window → a batch of size 1.  Raises ``ValueError`` for unknown modalities, a score filed
    under the wrong modality, bad shapes, an embedding of the wrong size, or no modality at all."""
    unknown = set(scores) - set(MODALITIES)
    if unknown:
        raise ValueError(f"unknown modality {sorted(unknown)}; expected some of {list(MODALITIES)}")
    logits = np.zeros((1, NUM_MODALITIES, NUM_LABELS), dtype=np.float32)
    conf = np.zeros((1, NUM_MODALITIES), dtype=np.float32)
    present = np.zeros((1, NUM_MODALITIES), dtype=bool)
    embs: dict[str, np.ndarray] = {}
    for i, m in enumerate(MODALITIES):
        s = scores.get(m)
        want = None if embedding_dims is None else int(embedding_dims[m])
        if s is None:
            embs[m] = np.zeros((1, want or 1), dtype=np.float32)
            continue
        if s.modality != m:
            raise ValueError(f"scores for {m!r} came from a {s.modality!r} expert")
        if np.asarray(s.probs).shape != (NUM_LABELS,):
            raise ValueError(f"{m}: probs must have shape ({NUM_LABELS},), got {np.asarray(s.probs).shape}")
        emb = np.asarray(s.embedding, dtype=np.float32).reshape(-1)
        if want is not None and emb.shape[0] != want:
            raise ValueError(f"{m}: embedding has {emb.shape[0]} values, this fuser was trained on {want}")
        row = scores_logits(s)
        if not (np.isfinite(row).all() and np.isfinite(emb).all() and np.isfinite(s.confidence)):
            raise ValueError(f"{m}: expert scores contain NaN or inf")
        logits[0, i], conf[0, i], present[0, i] = row, float(s.confidence), True
        embs[m] = emb[None, :]
    if not present.any():
        raise NoModalityError("no modality present: at least one of face, voice, text is needed to fuse")
    return FusionBatch.from_numpy(logits, conf, present, embs)


def masked_softmax(scores: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Softmax over the present entries only: (B, M) scores, (B, M) bool → (B, M), exact 0 where missing.

    Missing entries are set to -inf before the softmax (never zero-filled into it)."""
    return torch.softmax(scores.masked_fill(~present, float("-inf")), dim=-1)


class BaseFuser:
    """Protocol ``Fuser`` plus the batched path.  Subclasses implement ``raw_logits``."""

    name: str = "base"
    temperature: float = 1.0
    """Global temperature: used for a set of present modalities without its own (below)."""
    subset_temperatures: dict[str, float]
    """Temperature per set of present modalities, keyed by ``subset_key`` (e.g. ``"voice+text"``)."""
    uncertain_below: float = 0.45
    embedding_dims: dict[str, int] | None = None
    note: str | None = None
    """Appended to every explanation (e.g. why this fuser stands in for the configured one)."""
    single_passthrough: bool = True
    """With one modality present, return that expert's distribution (``predict_logits``)."""

    def _setup(self, uncertain_below: float | None, temperature: float = 1.0) -> None:
        if uncertain_below is None:
            from emotion_agent.core.settings import get_settings

            uncertain_below = get_settings().uncertain_below
        self.uncertain_below = float(uncertain_below)
        self.temperature = float(temperature)
        self.subset_temperatures = {}

    @classmethod
    def load(cls, spec: str | Path | None = None, uncertain_below: float | None = None) -> Any:
        """The one loader: a ready fuser from ``spec`` (folder of ``<name>.pt`` or the file)."""
        raise NotImplementedError

    def raw_logits(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Uncalibrated logits (B, 7) and weights α (B, 3) (0 for missing, sums to 1 over present).

        ``batch`` is already sanitized.  Learned fusers must keep the autograd graph."""
        raise NotImplementedError

    def set_temperature(self, temperature: float) -> None:
        if not (temperature > 0 and np.isfinite(temperature)):
            raise ValueError(f"temperature must be a positive number, got {temperature}")
        self.temperature = float(temperature)

    def set_subset_temperatures(self, temperatures: Mapping[str, float]) -> None:
        checked: dict[str, float] = {}
        for key, t in temperatures.items():
            if key not in SUBSET_KEYS:
                raise ValueError(f"unknown modality subset {key!r}; expected one of {SUBSET_KEYS}")
            if not (t > 0 and np.isfinite(t)):
                raise ValueError(f"temperature for {key} must be a positive number, got {t}")
            checked[key] = float(t)
        self.subset_temperatures = checked

    def temperatures(self, present: np.ndarray) -> np.ndarray:
        """Per-row temperature (B,) for a bool (B, 3) presence mask."""
        return np.array([self.subset_temperatures.get(subset_key(row), self.temperature) for row in present],
                        dtype=np.float64)

    def _eval_mode(self) -> None:
        if isinstance(self, torch.nn.Module):
            self.eval()

    def predict_logits(self, batch: FusionBatch) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated logits (B, 7) and α (B, 3) as numpy, no grad, eval mode.

        A row with ONE modality present gets that expert's own log-probabilities (``single_passthrough``):
        with nothing to combine, the fused label is the expert's label (calibration still applies its
        own temperature for that subset, which never changes the arg-max)."""
        self._eval_mode()
        clean = batch.sanitized()
        with torch.no_grad():
            logits, alpha = self.raw_logits(clean)
            if self.single_passthrough:
                single = clean.present.sum(dim=1) == 1
                if bool(single.any()):
                    which = clean.present[single].float().argmax(dim=1)
                    own = clean.logits[single].gather(1, which[:, None, None].expand(-1, 1, NUM_LABELS)).squeeze(1)
                    logits = logits.clone()
                    logits[single] = torch.log_softmax(own.float(), dim=-1).to(logits.dtype)
        return logits.numpy().astype(np.float32), alpha.numpy().astype(np.float32)

    def predict_batch(self, batch: FusionBatch) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities (B, 7) and α (B, 3)."""
        logits, alpha = self.predict_logits(batch)
        return softmax(logits, self.temperatures(batch.present.numpy())[:, None], axis=1), alpha

    def fuse(self, scores: Mapping[Modality, ExpertScores | None]) -> EmotionEstimate:
        """One window's estimate.  Raises ``NoModalityError`` (a ValueError) when nothing is present."""
        from emotion_agent.fusion.fusers.explain import explain

        batch = scores_to_batch(scores, self.embedding_dims)
        probs, alpha = self.predict_batch(batch)
        p, a = probs[0], alpha[0]
        weights: dict[str, float] = {m: round(float(a[i]), 4) for i, m in enumerate(MODALITIES)}
        confidence = float(p.max())
        valence, arousal = valence_arousal(p)
        experts: dict[str, ExpertScores | None] = {m: scores.get(m) for m in MODALITIES}
        return EmotionEstimate(
            label=LABELS[int(p.argmax())],
            probs=p,
            confidence=confidence,
            weights=weights,
            experts=experts,
            explanation=explain(p, weights, experts) + (f" ({self.note})" if self.note else ""),
            uncertain=confidence < self.uncertain_below,
            valence=valence,
            arousal=arousal,
            fuser=self.name,
        )


def present_uniform(present: torch.Tensor) -> torch.Tensor:
    """Equal weights over the present modalities: bool (B, M) → float (B, M)."""
    w = present.float()
    return w / w.sum(dim=1, keepdim=True).clamp_min(1.0)


class ModalityInput(torch.nn.Module):
    """z_m = [proj(LayerNorm(embedding_m)), log_softmax(logits_m), confidence_m] for one modality.

    (B, d_m), (B, 7), (B,) → (B, embed_proj + 8).  Log-softmax rather than raw logits so an expert's
    arbitrary additive offset changes nothing; LayerNorm because the experts' embedding scales differ.
    ``embed_proj = 0`` leaves the embedding out (z_m = [log_softmax(logits_m), confidence_m]): with
    few distinct training items per modality a fuser can memorise an item's label from its embedding.
    """

    def __init__(self, embedding_dim: int, embed_proj: int, dropout: float) -> None:
        super().__init__()
        if embed_proj < 0:
            raise ValueError(f"embed_proj must be >= 0, got {embed_proj}")
        self.embed_proj = embed_proj
        if embed_proj:
            self.norm = torch.nn.LayerNorm(embedding_dim)
            self.drop_in = torch.nn.Dropout(dropout)
            self.proj = torch.nn.Linear(embedding_dim, embed_proj)
        self.out_dim = embed_proj + NUM_LABELS + 1

    def forward(self, embedding: torch.Tensor, logits: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        parts = [torch.log_softmax(logits, dim=-1), confidence[:, None]]
        if self.embed_proj:
            parts.insert(0, torch.nn.functional.gelu(self.proj(self.drop_in(self.norm(embedding)))))
        return torch.cat(parts, dim=-1)


def modality_inputs(embedding_dims: dict[str, int], embed_proj: int,
                    dropout: float) -> tuple[torch.nn.ModuleDict, dict[str, int] | None]:
    """The per-modality input layers every learned fuser starts with, and the embedding sizes it
    checks inputs against (``None`` when ``embed_proj`` is 0 and embeddings are left out)."""
    dims: dict[str, int] = {m: int(embedding_dims[m]) for m in MODALITIES}
    inputs = torch.nn.ModuleDict({m: ModalityInput(dims[m], embed_proj, dropout) for m in MODALITIES})
    return inputs, (dims if embed_proj else None)


class LearnedFuser(BaseFuser):
    """Checkpoint I/O shared by the trained fusers (``attention``, ``concat``, ``transformer``).

    A checkpoint is ``{config, state_dict, temperature, subset_temperatures, fuser}``
    (``fusion.experts.base.save_checkpoint``),
    read back with ``torch.load(weights_only=True)`` by ``load``, the one loader real use and tests go
    through.  Subclasses set ``name``, ``config_cls`` and build themselves from ``config``.
    """

    config_cls: Any = None
    config: Any

    def training_loss(self, batch: FusionBatch, y: torch.Tensor) -> torch.Tensor:
        """The loss ``fusion_train`` minimises on a (sanitized) batch: cross-entropy by default."""
        logits, _ = self.raw_logits(batch)
        return torch.nn.functional.cross_entropy(logits, y)

    def save(self, path: Path) -> Path:
        from emotion_agent.fusion.experts.base import save_checkpoint

        assert isinstance(self, torch.nn.Module)
        path = Path(path)
        if path.suffix != ".pt":
            path = path / f"{self.name}.pt"
        save_checkpoint(path, self.config, {k: v.detach().cpu() for k, v in self.state_dict().items()},
                        temperature=float(self.temperature), subset_temperatures=dict(self.subset_temperatures),
                        fuser=self.name)
        return path

    @classmethod
    def load(cls, spec: str | Path | None = None, uncertain_below: float | None = None) -> Any:
        """Load ``<spec>/<name>.pt`` (or the file ``spec``); default folder ``settings.fuser_weights``.

        Raises ``ModelNotFoundError`` when the file is absent, unreadable, or for another fuser."""
        from emotion_agent.core.models import ModelNotFoundError
        from emotion_agent.core.settings import get_settings
        from emotion_agent.fusion.experts.base import checkpoint_file, load_checkpoint

        path = checkpoint_file(spec if spec is not None else get_settings().fuser_weights, f"{cls.name}.pt")
        ckpt = load_checkpoint(path)
        if ckpt.get("fuser", cls.name) != cls.name:
            raise ModelNotFoundError(f"{path}: a {ckpt.get('fuser')!r} checkpoint, not {cls.name!r}")
        try:
            ctor: Any = cls
            model = ctor(cls.config_cls(**ckpt["config"]), uncertain_below=uncertain_below)
            model.load_state_dict(ckpt["state_dict"])
        except (TypeError, RuntimeError, KeyError) as exc:
            raise ModelNotFoundError(f"{path}: checkpoint does not match {cls.__name__} ({exc})") from exc
        model.set_temperature(float(ckpt.get("temperature", 1.0)))
        model.set_subset_temperatures(ckpt.get("subset_temperatures", {}))
        model.eval()
        return model
