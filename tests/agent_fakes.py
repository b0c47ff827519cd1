"""Fakes that implement the real protocols, for testing the agent without models."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from emotion_agent.agent.components import Components
from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.core.events import EmotionEstimate, ExpertScores, Modality, Transcript
from emotion_agent.core.frames import Frame
from emotion_agent.core.labels import LABEL_INDEX, LABELS, valence_arousal
from emotion_agent.core.protocols import Turn
from emotion_agent.core.settings import Settings
from emotion_agent.fusion.experts.base import make_scores


class FakeExpert:
    """Says ``label`` with 0.8 for any window (or the label named in the text, for text)."""

    def __init__(self, modality: Modality, label: str = "neutral", delay_s: float = 0.0) -> None:
        self.modality = modality
        self.label = label
        self.delay_s = delay_s
        self.embedding_dim = 4
        self.calls = 0

    def predict(self, window: Any) -> ExpertScores:
        started = time.perf_counter()
        self.calls += 1
        if self.modality == "text" and not str(window).strip():
            raise ValueError("empty text")
        label = self.label
        if self.modality == "text":
            label = next((name for name in LABELS if name in str(window).lower()), self.label)
        time.sleep(self.delay_s)
        logits = np.full(7, 0.0, dtype=np.float32)
        logits[LABEL_INDEX[label]] = 3.0
        return make_scores(self.modality, logits, np.zeros(4), started)


class MeanFuser:
    name = "mean"

    def fuse(self, scores: Mapping[Modality, ExpertScores | None]) -> EmotionEstimate:
        present = {m: s for m, s in scores.items() if s is not None}
        if not present:
            raise ValueError("no modality present")
        probs = np.mean([s.probs for s in present.values()], axis=0)
        v, a = valence_arousal(probs)
        weights = {m: (1 / len(present) if m in present else 0.0) for m in ("face", "voice", "text")}
        return EmotionEstimate(LABELS[int(probs.argmax())], probs, float(probs.max()), weights,
                               {str(m): s for m, s in scores.items()},
                               "mean of experts", bool(probs.max() < 0.3), v, a, self.name)


class FakeTranscriber:
    def __init__(self, text: str = "hello there", delay_s: float = 0.0) -> None:
        self.text = text
        self.delay_s = delay_s

    def transcribe(self, audio: np.ndarray, *, start: float = 0.0, is_final: bool = True) -> Transcript:
        time.sleep(self.delay_s)
        return Transcript(self.text, is_final, start, start + len(audio) / 16_000)


@dataclass
class Verdict:
    """Honours ``core.protocols.RiskVerdict``."""

    kind: str = "none"
    matched: str = ""
    message: str = ""
    severity: str = "none"
    score: float | None = None
    threshold: float | None = None

    @property
    def flagged(self) -> bool:
        return self.kind != "none"


CRISIS_MESSAGE = "Please reach out: call or text 988."


class FakeSafety:
    """Flags "kill myself" (user) and "you have depression" (reply); nothing else."""

    def check_user(self, text: str, level: str = "standard") -> Verdict:
        if "kill myself" in text.lower():
            return Verdict("self_harm", "kill myself", CRISIS_MESSAGE, "high")
        return Verdict()

    def check_reply(self, text: str) -> Verdict:
        if "you have depression" in text.lower():
            return Verdict("unsafe_reply", "diagnosis", "", "high")
        return Verdict()

    def message_for(self, kind: str, severity: str = "high") -> str:
        return CRISIS_MESSAGE


class EchoResponder:
    name = "echo"

    def __init__(self, words: Sequence[str] = ("I", " hear", " you."), delay_s: float = 0.0,
                 fail: bool = False) -> None:
        self.words = list(words)
        self.delay_s = delay_s
        self.fail = fail

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        if self.fail:
            raise RuntimeError("model exploded")
        for word in self.words:
            time.sleep(self.delay_s)
            yield word


FrameT = TypeVar("FrameT", bound=Frame)


class FrameLog(FrameProcessor):
    """Records every frame it sees and passes it on (put it anywhere in a pipeline)."""

    name = "frame_log"

    def __init__(self, name: str = "frame_log") -> None:
        super().__init__()
        self.name = name
        self.seen: list[Frame] = []

    async def process(self, frame: Frame) -> None:
        self.seen.append(frame)
        await self.push(frame)

    def of(self, kind: type[FrameT]) -> list[FrameT]:
        return [f for f in self.seen if isinstance(f, kind)]


def fake_components(settings: Settings | None = None, responder: Any = None, **expert_labels: str) -> Components:
    settings = settings or Settings()
    labels = {"face": "neutral", "voice": "neutral", "text": "neutral", **expert_labels}
    return Components(
        settings=settings,
        transcriber=FakeTranscriber(),
        experts={m: FakeExpert(m, labels[m]) for m in ("face", "voice", "text")},
        fuser=MeanFuser(),
        responder=responder or EchoResponder(),
        safety=FakeSafety(),  # type: ignore[arg-type]
    )
