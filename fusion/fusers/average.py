"""The late-fusion seed: confidence-weighted averaging of the experts' probabilities.

weights w_m = confidence_m / Σ_present confidence (uniform over the present modalities when every
confidence is 0); fused p = Σ_m w_m · softmax(logits_m).  The weights are reported as α.  No
parameters; an optional temperature (fitted by ``calibration.py``, stored in ``average.pt``) is
applied to log p.
"""

from __future__ import annotations

from pathlib import Path

import torch

from emotion_agent.fusion.fusers.base import BaseFuser, FusionBatch, present_uniform

EPS = 1e-8


class FormulaFuser(BaseFuser):
    """A fuser without learned parameters; only its temperature may come from a checkpoint."""

    def __init__(self, uncertain_below: float | None = None, temperature: float = 1.0) -> None:
        self._setup(uncertain_below, temperature)

    def save(self, path: Path) -> Path:
        from emotion_agent.fusion.experts.base import save_checkpoint

        path = Path(path)
        if path.suffix != ".pt":
            path = path / f"{self.name}.pt"
        save_checkpoint(path, {}, {}, temperature=float(self.temperature),
                        subset_temperatures=dict(self.subset_temperatures), fuser=self.name)
        return path

    @classmethod
    def load(cls, spec: str | Path | None = None, uncertain_below: float | None = None) -> FormulaFuser:
        """Read the fitted temperature from ``<spec>/<name>.pt`` when that file exists.

        Without a file the fuser works uncalibrated (temperature 1): these formulas need no training.
        """
        from emotion_agent.core.settings import get_settings
        from emotion_agent.fusion.experts.base import load_checkpoint

        fuser = cls(uncertain_below)
        folder = Path(spec if spec is not None else get_settings().fuser_weights)
        path = folder if folder.suffix == ".pt" else folder / f"{cls.name}.pt"
        if path.exists():
            ckpt = load_checkpoint(path)
            fuser.set_temperature(float(ckpt.get("temperature", 1.0)))
            fuser.set_subset_temperatures(ckpt.get("subset_temperatures", {}))
        return fuser


class AverageFuser(FormulaFuser):
    name = "average"

    def raw_logits(self, batch: FusionBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """log Σ_m w_m softmax(logits_m): (B, 7); w (B, 3) from the confidences of present modalities."""
        conf = torch.where(batch.present, batch.confidence.clamp(0.0, 1.0), torch.zeros(()))
        total = conf.sum(dim=1, keepdim=True)
        w = torch.where(total > 0, conf / total.clamp_min(EPS), present_uniform(batch.present))
        probs = (w[..., None] * torch.softmax(batch.logits, dim=-1)).sum(dim=1)
        return torch.log(probs.clamp_min(EPS)), w
