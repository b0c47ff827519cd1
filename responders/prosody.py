"""How the agent's voice is shaped to the listener: fused emotion + profile → prosody.

This is the one prosody table.  Both voices read it: the page's ``speechSynthesis`` (``rate``,
``pitch``, ``volume``; it gets the table from ``GET /api/voice``) and the server's Piper voice
(``length_scale``, ``noise_scale``, ``noise_w_scale`` and ``volume``; Piper has no pitch control).
``docs/VOICE.md`` shows it (``markdown_table()``; a test keeps the two in step).

The row is chosen by the **user's** fused emotion for the turn being answered (the agent does not
mirror it; it answers it): slower and softer to a sad or fearful user, calm and even (slower, lower,
least variation) to an angry one, brighter to a happy one.  An ``uncertain`` estimate, or none,
gets the neutral row.  The profile then scales the row (``PROFILE_SCALE``): the mental-health
check-in is gentler and slower still, casual chat a little livelier.

Units: ``rate`` and ``pitch`` are the Web Speech API's (1 = the voice's normal; rate 0.1–10, pitch
0–2), ``volume`` 0–1.  ``length_scale`` is Piper's phoneme length (> 1 slower, about 1 / rate);
``noise_scale`` its generator noise (how much the voice varies: less is flatter and calmer) and
``noise_w_scale`` its phoneme-duration noise (rhythm variation); the voice's defaults are 1.0, 0.667
and 0.8.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from emotion_agent.core.labels import LABELS


@dataclass(frozen=True)
class Prosody:
    rate: float = 1.0
    pitch: float = 1.0
    volume: float = 0.9
    length_scale: float = 1.0
    noise_scale: float = 0.667
    noise_w_scale: float = 0.8

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 3) for k, v in asdict(self).items()}

    def scaled(self, scale: Prosody) -> Prosody:
        """Multiply field by field, then clamp to what both engines accept."""
        raw = {f.name: getattr(self, f.name) * getattr(scale, f.name) for f in fields(Prosody)}
        return Prosody(**{k: round(min(max(v, LIMITS[k][0]), LIMITS[k][1]), 3) for k, v in raw.items()})


UNIT = Prosody(1.0, 1.0, 1.0, 1.0, 1.0, 1.0)

# The user's fused emotion → how the agent speaks (see the module docstring for the units).
EMOTION_PROSODY: dict[str, Prosody] = {
    #                    rate  pitch volume length noise noise_w
    "neutral":   Prosody(1.00, 1.00, 0.90, 1.00, 0.667, 0.80),  # the voice's own defaults
    "happy":     Prosody(1.08, 1.10, 1.00, 0.93, 0.75, 0.90),   # brighter: a little faster, higher, livelier
    "sad":       Prosody(0.88, 0.95, 0.75, 1.14, 0.55, 0.65),   # slower and softer
    "fearful":   Prosody(0.88, 0.97, 0.75, 1.14, 0.50, 0.60),   # slower, softer, steady: reassuring
    "angry":     Prosody(0.92, 0.94, 0.85, 1.09, 0.40, 0.50),   # calm and even: slower, lower, least variation
    "disgusted": Prosody(0.95, 0.98, 0.85, 1.05, 0.55, 0.65),   # even, unhurried
    "surprised": Prosody(1.00, 1.05, 0.95, 1.00, 0.667, 0.80),  # attentive, slightly brighter
}
UNCERTAIN_LABEL = "neutral"
"""The row for an uncertain estimate (or none)."""

# The host profile scales the emotion's row (multipliers; 1 = unchanged).
PROFILE_SCALE: dict[str, Prosody] = {
    "default": UNIT,
    "customer_service": Prosody(0.97, 1.00, 1.00, 1.03, 0.90, 0.90),   # unhurried and steady
    "mental_health": Prosody(0.92, 0.98, 0.90, 1.08, 0.85, 0.85),      # gentle: slower, softer, even
    "casual": Prosody(1.05, 1.03, 1.00, 0.95, 1.10, 1.05),             # a little livelier
}

LIMITS: dict[str, tuple[float, float]] = {
    "rate": (0.5, 2.0), "pitch": (0.5, 1.5), "volume": (0.1, 1.0),
    "length_scale": (0.5, 2.0), "noise_scale": (0.0, 1.0), "noise_w_scale": (0.0, 1.0),
}

assert set(EMOTION_PROSODY) == set(LABELS), "one row per label"


def prosody_for(label: str | None, profile: str = "default", uncertain: bool = False) -> Prosody:
    """The prosody for a reply to a user whose fused emotion is ``label`` (None: no estimate)."""
    row = EMOTION_PROSODY.get(label or "", EMOTION_PROSODY[UNCERTAIN_LABEL])
    if uncertain:
        row = EMOTION_PROSODY[UNCERTAIN_LABEL]
    return row.scaled(PROFILE_SCALE.get(profile, UNIT))


def table() -> dict[str, dict[str, dict[str, float]]]:
    """{profile: {label: prosody dict}}: every combination, what the page looks up."""
    return {p: {label: prosody_for(label, p).as_dict() for label in LABELS} for p in PROFILE_SCALE}


def markdown_table(profile: str = "default") -> str:
    """The table as Markdown (docs/VOICE.md)."""
    cols = [f.name for f in fields(Prosody)]
    lines = ["| user's fused emotion | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label in LABELS:
        p = prosody_for(label, profile).as_dict()
        lines.append(f"| {label} | " + " | ".join(f"{p[c]:g}" for c in cols) + " |")
    return "\n".join(lines)


def markdown_profiles() -> str:
    cols = [f.name for f in fields(Prosody)]
    lines = ["| profile | " + " | ".join(f"× {c}" for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, s in PROFILE_SCALE.items():
        d = asdict(s)
        lines.append(f"| {name} | " + " | ".join(f"{d[c]:g}" for c in cols) + " |")
    return "\n".join(lines)
