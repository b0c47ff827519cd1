"""The thesis seed: a small transformer encoder over modality tokens.

Tokens: [CLS, face, voice, text]; each modality token = Linear(z_m) + a learned modality embedding
(z_m from ``ModalityInput``).  Missing modalities are excluded with a key-padding mask, so no token
attends to them; CLS is never masked.  The CLS output of the last layer → 7 logits.  α is the last
layer's CLS→modality attention (averaged over heads), renormalised over the modality tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from emotion_agent.core.events import MODALITIES
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.fusion.fusers.base import FusionBatch, LearnedFuser, modality_inputs, present_uniform


@dataclass
class TransformerConfig:
    embedding_dims: dict[str, int] = field(default_factory=lambda: {"face": 64, "voice": 64, "text": 64})
    embed_proj: int = 0
    """As ``AttentionConfig.embed_proj``: 0 leaves the embeddings out."""
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ff: int = 128
    dropout: float = 0.1


class _Layer(nn.Module):
    """Pre-norm encoder layer that also returns its attention weights (B, T, T), heads averaged."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.attn = nn.MultiheadAttention(cfg.d_model, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.ff), nn.GELU(), nn.Dropout(cfg.dropout),
                                nn.Linear(cfg.ff, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.norm1(x)
        a, w = self.attn(y, y, y, key_padding_mask=pad, need_weights=True, average_attn_weights=True)
        x = x + self.drop(a)
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, w


class TransformerFuser(nn.Module, LearnedFuser):
    """``forward(batch) -> (logits (B, 7), alpha (B, 3))``."""

    name = "transformer"
    config_cls = TransformerConfig

    def __init__(self, config: TransformerConfig, uncertain_below: float | None = None) -> None:
        super().__init__()
        self._setup(uncertain_below)
        self.config = config
        self.inputs, self.embedding_dims = modality_inputs(config.embedding_dims, config.embed_proj,
                                                           config.dropout)
        z_dim = config.embed_proj + NUM_LABELS + 1
        self.token = nn.ModuleDict({m: nn.Linear(z_dim, config.d_model) for m in MODALITIES})
        self.type_emb = nn.Parameter(torch.randn(len(MODALITIES), config.d_model) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, config.d_model) * 0.02)
        self.blocks = nn.ModuleList([_Layer(config) for _ in range(config.layers)])
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, NUM_LABELS)

    def forward(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        b = len(batch)
        tokens = torch.stack(
            [self.token[m](self.inputs[m](batch.embeddings[m], batch.logits[:, i], batch.confidence[:, i]))
             + self.type_emb[i] for i, m in enumerate(MODALITIES)],
            dim=1,
        )  # (B, 3, d)
        tokens = torch.where(batch.present[..., None], tokens, torch.zeros(()))
        x = torch.cat([self.cls.expand(b, 1, -1), tokens], dim=1)  # (B, 4, d)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool), ~batch.present], dim=1)  # True = ignore
        w = torch.zeros(b, x.shape[1], x.shape[1])
        for block in self.blocks:
            x, w = block(x, pad)
        logits = self.head(self.norm(x[:, 0]))
        cls_to_mod = torch.where(batch.present, w[:, 0, 1:], torch.zeros(()))  # (B, 3)
        total = cls_to_mod.sum(dim=1, keepdim=True)
        alpha = torch.where(total > 1e-8, cls_to_mod / total.clamp_min(1e-8), present_uniform(batch.present))
        return logits, alpha

    def raw_logits(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        out: tuple[torch.Tensor, torch.Tensor] = self(batch)
        return out
