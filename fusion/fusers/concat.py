"""The NIT seed: feature concatenation + dense layers.

Input: [z_face, z_voice, z_text, presence mask (3)] with each z_m = ``ModalityInput`` features
(log-probabilities and confidence; plus the projected embedding when ``embed_proj`` > 0),
zero-filled when the modality is missing → MLP → 7 logits.  Trained like the attention fuser.

It has no attention, so its α is an occlusion estimate: how much the probability of the predicted
label drops when each present modality is removed (clipped at 0, normalised over the present
modalities; uniform when no removal lowers it).  That costs three extra forward passes.
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
    modality_inputs,
    present_uniform,
)


@dataclass
class ConcatConfig:
    embedding_dims: dict[str, int] = field(default_factory=lambda: {"face": 64, "voice": 64, "text": 64})
    embed_proj: int = 0
    """As ``AttentionConfig.embed_proj``: 0 leaves the embeddings out."""
    hidden: int = 32
    layers: int = 2
    dropout: float = 0.2


class ConcatFuser(nn.Module, LearnedFuser):
    """``forward(batch) -> (logits (B, 7), alpha (B, 3))``."""

    name = "concat"
    config_cls = ConcatConfig

    def __init__(self, config: ConcatConfig, uncertain_below: float | None = None) -> None:
        super().__init__()
        self._setup(uncertain_below)
        self.config = config
        self.inputs, self.embedding_dims = modality_inputs(config.embedding_dims, config.embed_proj,
                                                           config.dropout)
        width = NUM_MODALITIES * (config.embed_proj + NUM_LABELS + 1) + NUM_MODALITIES
        layers: list[nn.Module] = []
        for _ in range(config.layers):
            layers += [nn.Linear(width, config.hidden), nn.GELU(), nn.Dropout(config.dropout)]
            width = config.hidden
        layers.append(nn.Linear(width, NUM_LABELS))
        self.mlp = nn.Sequential(*layers)

    def logits_only(self, batch: FusionBatch) -> torch.Tensor:
        """(B, 7) logits; missing modalities' features are zeroed after the input layer too."""
        zero = torch.zeros(())
        feats = [
            torch.where(batch.present[:, i, None],
                        self.inputs[m](batch.embeddings[m], batch.logits[:, i], batch.confidence[:, i]), zero)
            for i, m in enumerate(MODALITIES)
        ]
        out: torch.Tensor = self.mlp(torch.cat([*feats, batch.present.float()], dim=-1))
        return out

    def forward(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.logits_only(batch)
        if self.training:  # α is only for reporting; skip the occlusion passes while training
            return logits, present_uniform(batch.present)
        with torch.no_grad():
            alpha = self._occlusion(batch, logits.detach())
        return logits, alpha

    def _occlusion(self, batch: FusionBatch, logits: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(logits, dim=-1)
        pred = probs.argmax(dim=-1, keepdim=True)
        p_full = probs.gather(1, pred).squeeze(1)
        drops = torch.zeros_like(batch.confidence)
        for i in range(NUM_MODALITIES):
            keep = torch.ones_like(batch.present)
            keep[:, i] = False
            reduced = batch.masked(keep)
            # Rows where m is the only modality: removing it leaves nothing, so it gets the full drop.
            alone = ~reduced.present.any(dim=1)
            reduced.present[alone] = batch.present[alone]
            p_wo = torch.softmax(self.logits_only(reduced), dim=-1).gather(1, pred).squeeze(1)
            drops[:, i] = torch.where(alone, p_full, (p_full - p_wo).clamp_min(0.0))
        drops = torch.where(batch.present, drops, torch.zeros(()))
        total = drops.sum(dim=1, keepdim=True)
        return torch.where(total > 1e-6, drops / total.clamp_min(1e-6), present_uniform(batch.present))

    def raw_logits(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        out: tuple[torch.Tensor, torch.Tensor] = self(batch)
        return out
