"""The main seed's fuser: attention over the present modalities plus a label-fusion MLP.

Per modality m (face, voice, text):

* z_m = [log_softmax(logits_m), confidence_m] (+ proj(embedding_m) when ``embed_proj`` > 0)  (``ModalityInput``)
* h_m = proj_m(z_m) ∈ R^d, a shared latent space                             (d = ``latent_dim``)
* s_m = vᵀ · tanh(W · h_m + U · q + b), q = mean of the present h           (additive attention;
  the query q lets a modality's score depend on whether it agrees with the others)
* α = softmax of s over the PRESENT modalities only (missing → -inf, so α_m = 0 exactly)
* fused = Σ_m α_m · h_m
* logits = MLP([logits_face, logits_voice, logits_text (zeros when missing), presence mask (3), fused])

Trained with cross-entropy plus a mixture-of-experts term −log Σ α_m p_m(y) that makes α the learned
share of each expert in explaining the label (``training_loss``), with modality dropout
(``fusion_train.py``); then temperature-scaled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from emotion_agent.core.events import MODALITIES
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.fusion.fusers.base import (
    NUM_MODALITIES,
    FusionBatch,
    LearnedFuser,
    masked_softmax,
    modality_inputs,
)


@dataclass
class AttentionConfig:
    embedding_dims: dict[str, int] = field(default_factory=lambda: {"face": 64, "voice": 64, "text": 64})
    """Size of each expert's ``ExpertScores.embedding``."""
    embed_proj: int = 0
    """Each embedding is first reduced to this many features; 0 (the default) leaves embeddings out.
    Measured: with embeddings the fuser memorises the few training pool items (120 voice clips) and
    does worse on held-out ones (``MODEL_CARD.md``, ablation)."""
    latent_dim: int = 16
    """d, the shared latent space of h_m and the fused vector."""
    attn_dim: int = 16
    """Width of W and U in the attention score vᵀ·tanh(W·h + U·q + b)."""
    hidden: int = 32
    """Hidden units of the label-fusion MLP."""
    dropout: float = 0.2
    aux_weight: float = 1.0
    """Weight of the mixture-of-experts term that ties α to the evidence (``training_loss``).  The MLP also
    sees every expert's logits, so without them nothing gives α a meaning (measured: α ≈ 0.95 on voice
    whatever the input, no higher when the voice expert is right)."""


class AttentionFuser(nn.Module, LearnedFuser):
    """Implements ``Fuser``; ``forward(batch) -> (logits (B, 7), alpha (B, 3))``."""

    name = "attention"
    config_cls = AttentionConfig

    def __init__(self, config: AttentionConfig, uncertain_below: float | None = None) -> None:
        super().__init__()
        self._setup(uncertain_below)
        missing = [m for m in MODALITIES if m not in config.embedding_dims]
        if missing:
            raise ValueError(f"AttentionConfig.embedding_dims lacks {missing}")
        self.config = config
        d = config.latent_dim
        self.inputs, self.embedding_dims = modality_inputs(config.embedding_dims, config.embed_proj,
                                                           config.dropout)
        z_dim = config.embed_proj + NUM_LABELS + 1
        self.proj = nn.ModuleDict({m: nn.Sequential(nn.Linear(z_dim, d), nn.Tanh()) for m in MODALITIES})
        self.attn_w = nn.Linear(d, config.attn_dim)
        self.attn_u = nn.Linear(d, config.attn_dim, bias=False)
        self.attn_v = nn.Linear(config.attn_dim, 1, bias=False)
        nn.init.zeros_(self.attn_v.weight)  # start from uniform α so no modality is starved of gradient early
        mlp_in = NUM_MODALITIES * NUM_LABELS + NUM_MODALITIES + d
        self.mlp = nn.Sequential(
            nn.Linear(mlp_in, config.hidden), nn.GELU(), nn.Dropout(config.dropout),
            nn.Linear(config.hidden, NUM_LABELS),
        )

    def forward(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch`` (sanitized: missing inputs are zero) → logits (B, 7), alpha (B, 3)."""
        logits, alpha, _, _ = self.encode(batch)
        return logits, alpha

    def training_loss(self, batch: FusionBatch, y: torch.Tensor) -> torch.Tensor:
        """CE on the output + ``aux_weight`` × the mixture-of-experts NLL −log Σ_m α_m p_m(y), with
        p_m the expert's own probabilities (fixed, computed on pools no expert trained on).

        This is what gives α its meaning: the term's gradient moves α_m towards the posterior share of
        expert m in explaining the true label (its EM responsibility), so α learns how far to trust
        each present expert for this input.  Using the experts' probabilities rather than a trained
        read-out keeps the fuser from inflating a modality it has memorised."""
        logits, alpha, _, _ = self.encode(batch)
        ce = nn.functional.cross_entropy(logits, y)
        if not self.config.aux_weight:
            return ce
        present = batch.present
        log_p = torch.log_softmax(batch.logits, dim=-1)  # (B, 3, 7)
        log_p_y = log_p.gather(2, y[:, None, None].expand(-1, NUM_MODALITIES, 1)).squeeze(2)  # (B, 3)
        log_alpha = torch.log(alpha.clamp_min(1e-12))
        mix = -torch.logsumexp((log_alpha + log_p_y).masked_fill(~present, float("-inf")), dim=1)
        return ce + self.config.aux_weight * mix.mean()

    def encode(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """logits (B, 7), alpha (B, 3), the fused vector (B, d) and the per-modality h (B, 3, d)."""
        present = batch.present
        h = torch.stack(
            [self.proj[m](self.inputs[m](batch.embeddings[m], batch.logits[:, i], batch.confidence[:, i]))
             for i, m in enumerate(MODALITIES)],
            dim=1,
        )  # (B, 3, d)
        pf = present.float()[..., None]
        query = (h * pf).sum(1) / pf.sum(1)  # (B, d): mean of the present h, what the modalities agree on
        scores = self.attn_v(torch.tanh(self.attn_w(h) + self.attn_u(query)[:, None])).squeeze(-1)  # (B, 3)
        alpha = masked_softmax(scores, present)  # (B, 3), exactly 0 where missing
        # torch.where, not α·h alone: a missing h must not leak in even as 0·h.
        fused = torch.where(present[..., None], alpha[..., None] * h, torch.zeros(())).sum(dim=1)  # (B, d)
        label_in = torch.cat(
            [torch.where(present[..., None], batch.logits, torch.zeros(())).flatten(1), present.float(), fused],
            dim=-1,
        )
        return self.mlp(label_in), alpha, fused, h

    def raw_logits(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        out: tuple[torch.Tensor, torch.Tensor] = self(batch)
        return out
