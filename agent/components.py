"""The shared, loaded-once parts of the agent: transcriber, experts, fuser, face detector, responder.

Each part is loaded on first use through its one loader, so a text-only host never loads Whisper,
and a missing model fails with ``ModelNotFoundError`` naming the file and the command that makes it.
Instances are shared by every session; none of them keeps per-session state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from emotion_agent.core.events import Modality
from emotion_agent.core.protocols import Expert, Fuser, Responder, Transcriber
from emotion_agent.core.settings import Settings, get_settings
from emotion_agent.fusion.experts.registry import load_expert

if TYPE_CHECKING:
    from emotion_agent.perception.faces import FaceDetector
    from emotion_agent.responders.voice import SpeechSynthesizer
    from emotion_agent.safety.screen import SafetyPolicy

T = TypeVar("T")


@dataclass
class Components:
    """Lazily loaded shared models.  Pass ready-made parts (fakes in tests) to skip loading."""

    settings: Settings = field(default_factory=get_settings)
    transcriber: Transcriber | None = None
    experts: dict[Modality, Expert[Any]] = field(default_factory=dict)
    fuser: Fuser | None = None
    face_detector: FaceDetector | None = None
    responder: Responder | None = None
    safety: SafetyPolicy | None = None
    voice: SpeechSynthesizer | None = None
    """The server's TTS voice (only loaded with ``EMOTION_AGENT_TTS=server``)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _once(self, attr: str, make: Callable[[], T]) -> T:
        value = getattr(self, attr)
        if value is None:
            with self._lock:
                value = getattr(self, attr)
                if value is None:
                    value = make()
                    setattr(self, attr, value)
        return value

    def get_transcriber(self) -> Transcriber:
        def make() -> Transcriber:
            from emotion_agent.perception.transcribe import WhisperTranscriber

            s = self.settings
            return WhisperTranscriber.load(s.asr_model, s.asr_compute_type, s.asr_threads, s.asr_beam_size,
                                          partial_window=s.asr_partial_window)

        return self._once("transcriber", make)

    def get_expert(self, modality: Modality) -> Expert[Any]:
        if modality not in self.experts:
            with self._lock:
                if modality not in self.experts:
                    self.experts[modality] = load_expert(modality, _expert_spec(modality, self.settings))
        return self.experts[modality]

    def get_fuser(self) -> Fuser:
        def make() -> Fuser:
            from emotion_agent.fusion.fusers.registry import load_fuser

            return load_fuser(self.settings.fusion, settings=self.settings)

        return self._once("fuser", make)

    def get_face_detector(self) -> FaceDetector:
        def make() -> FaceDetector:
            import cv2

            from emotion_agent.perception.faces import FaceDetector

            # OpenCV's own thread pool (one thread per core by default) would fight Whisper, torch
            # and llama.cpp for the same cores; sessions already run detections in parallel.
            if self.settings.opencv_threads > 0:
                cv2.setNumThreads(self.settings.opencv_threads)
            return FaceDetector(min_size=self.settings.face_min_size,
                                detect_width=self.settings.face_detect_width or None)

        return self._once("face_detector", make)

    def get_safety(self) -> SafetyPolicy:
        def make() -> SafetyPolicy:
            from emotion_agent.safety.screen import SafetyPolicy

            return SafetyPolicy.from_settings(self.settings)

        return self._once("safety", make)

    def get_responder(self) -> Responder:
        def make() -> Responder:
            from emotion_agent.responders.registry import load_responder

            return load_responder(self.settings)

        return self._once("responder", make)

    def get_voice(self) -> SpeechSynthesizer:
        def make() -> SpeechSynthesizer:
            from emotion_agent.responders.voice import load_voice

            return load_voice(self.settings.tts_voice, self.settings.tts_threads)

        return self._once("voice", make)


def _expert_spec(modality: Modality, settings: Settings) -> str | None:
    return {"text": settings.text_expert, "voice": settings.voice_expert, "face": settings.face_expert}[modality]
