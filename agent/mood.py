"""Mood over a session: valence/arousal smoothed over turns, shifts, and an end-of-session summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from emotion_agent.core.events import EmotionEstimate, now

QUADRANTS = {
    (True, True): "upbeat",  # valence ≥ 0, arousal ≥ 0
    (True, False): "calm",
    (False, True): "agitated",
    (False, False): "low",
}


def quadrant(valence: float, arousal: float, dead_zone: float = 0.12) -> str:
    if abs(valence) < dead_zone and abs(arousal) < dead_zone:
        return "neutral"
    return QUADRANTS[(valence >= 0, arousal >= 0)]


@dataclass(frozen=True)
class MoodPoint:
    valence: float
    arousal: float
    label: str
    t: float


@dataclass(frozen=True)
class MoodShift:
    from_state: str
    to_state: str
    t: float


@dataclass
class MoodTracker:
    """Exponential smoothing of per-turn (valence, arousal), weighted by the estimate's confidence.

    ``alpha`` is the weight of a fully confident new turn; uncertain turns move the mood less.
    A ``MoodShift`` is reported when the smoothed mood changes quadrant and has moved at least
    ``shift_distance`` from where it was at the last shift.
    """

    alpha: float = 0.45
    shift_distance: float = 0.35
    valence: float = 0.0
    arousal: float = 0.0
    points: list[MoodPoint] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)
    _state: str = "neutral"
    _anchor: tuple[float, float] = (0.0, 0.0)

    def update(self, estimate: EmotionEstimate) -> MoodShift | None:
        weight = self.alpha * max(0.2, float(estimate.confidence))
        if not self.points:
            weight = max(weight, 0.6)
        self.valence += weight * (estimate.valence - self.valence)
        self.arousal += weight * (estimate.arousal - self.arousal)
        self.points.append(MoodPoint(self.valence, self.arousal, estimate.label, now()))
        self.labels[estimate.label] += 1
        state = quadrant(self.valence, self.arousal)
        moved = ((self.valence - self._anchor[0]) ** 2 + (self.arousal - self._anchor[1]) ** 2) ** 0.5
        if state != self._state and moved >= self.shift_distance:
            shift = MoodShift(self._state, state, now())
            self._state, self._anchor = state, (self.valence, self.arousal)
            return shift
        return None

    @property
    def state(self) -> str:
        return self._state

    def trend(self, window: int = 4) -> str:
        """'improving', 'worsening' or 'steady', from valence over the last ``window`` turns."""
        if len(self.points) < 2:
            return "steady"
        recent = self.points[-window:]
        delta = recent[-1].valence - recent[0].valence
        if delta > 0.15:
            return "improving"
        if delta < -0.15:
            return "worsening"
        return "steady"

    def streak(self, label: str) -> int:
        """How many of the latest turns in a row had this label."""
        count = 0
        for point in reversed(self.points):
            if point.label != label:
                break
            count += 1
        return count

    def summary(self) -> dict[str, object]:
        n = len(self.points)
        return {
            "turns": n,
            "dominant": self.labels.most_common(3),
            "trend": self.trend(window=max(2, n)),
            "mean_valence": round(sum(p.valence for p in self.points) / n, 4) if n else 0.0,
            "mean_arousal": round(sum(p.arousal for p in self.points) / n, 4) if n else 0.0,
        }
