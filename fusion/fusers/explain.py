"""One line saying why the fuser decided what it did.

Example: ``voice says angry (0.81) and carries most weight (α 0.62); face neutral (0.55);
words neutral (0.90)``; a missing modality is named (``no face``).  Modalities are listed by weight.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from emotion_agent.core.events import MODALITIES, ExpertScores
from emotion_agent.core.labels import LABELS

SPOKEN_NAME = {"face": "face", "voice": "voice", "text": "words"}
SAYS = {"face": "says", "voice": "says", "text": "say"}


def explain(probs: np.ndarray, weights: Mapping[str, float], experts: Mapping[str, ExpertScores | None]) -> str:
    """``probs``: fused (7,); ``weights``: α per modality; ``experts``: the inputs (None = missing)."""
    present = [m for m in MODALITIES if experts.get(m) is not None]
    if not present:
        raise ValueError("nothing to explain: no modality present")
    ranked = sorted(present, key=lambda m: -float(weights.get(m, 0.0)))
    parts: list[str] = []
    for rank, m in enumerate(ranked):
        s = experts[m]
        assert s is not None
        p = np.asarray(s.probs, dtype=np.float64)
        label, prob = LABELS[int(p.argmax())], float(p.max())
        name = SPOKEN_NAME[m]
        if rank == 0:
            lead = f"{name} {SAYS[m]} {label} ({prob:.2f})"
            if len(present) == 1:
                parts.append(f"{lead}, the only modality present")
            else:
                parts.append(f"{lead} and carries most weight (α {float(weights.get(m, 0.0)):.2f})")
        else:
            parts.append(f"{name} {label} ({prob:.2f})")
    parts += [f"no {SPOKEN_NAME[m]}" for m in MODALITIES if m not in present]
    fused = LABELS[int(np.asarray(probs).argmax())]
    top_labels = {experts[m].label for m in present}  # type: ignore[union-attr]
    if fused not in top_labels:
        # The fused label can differ from every expert's arg-max (the MLP reads whole distributions).
        parts.append(f"fused {fused} from their combined scores")
    return "; ".join(parts)
