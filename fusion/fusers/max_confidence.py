"""The audio-visual VIT seed: trust the single most confident expert.

The fused distribution is the distribution of the present expert with the highest confidence (ties:
the first in face, voice, text order); α is one-hot on that expert.  An optional temperature from
``max_confidence.pt`` is applied to its log-probabilities.
"""

from __future__ import annotations

import torch

from emotion_agent.fusion.fusers.average import EPS, FormulaFuser
from emotion_agent.fusion.fusers.base import FusionBatch


class MaxConfidenceFuser(FormulaFuser):
    name = "max_confidence"

    def raw_logits(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 7) log-probabilities of the chosen expert and one-hot α (B, 3)."""
        conf = batch.confidence.masked_fill(~batch.present, float("-inf"))
        best = conf.argmax(dim=1)  # (B,)
        alpha = torch.nn.functional.one_hot(best, num_classes=batch.present.shape[1]).float()
        probs = torch.softmax(batch.logits, dim=-1)[torch.arange(len(batch)), best]
        return torch.log(probs.clamp_min(EPS)), alpha
