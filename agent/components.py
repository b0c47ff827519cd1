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

from emotion_agent.events import Modality
from emotion_agent.protocols import Expert, Fuser, Responder, Transcriber
from emotion_agent.settings import Settings, get_settings

if TYPE_CHECKING:
    from perception.faces import FaceDetector
    from responders.safety import SafetyPolicy

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
            from perception.transcribe import WhisperTranscriber

            s = self.settings
            return WhisperTranscriber.load(s.asr_model, s.asr_compute_type, s.asr_threads, s.asr_beam_size,
                                          partial_window=s.asr_partial_window)

        return self._once("transcriber", make)

    def get_expert(self, modality: Modality) -> Expert[Any]:
        if modality not in self.experts:
            with self._lock:
                if modality not in self.experts:
                    self.experts[modality] = _load_expert(modality, self.settings)
        return self.experts[modality]

    def get_fuser(self) -> Fuser:
        def make() -> Fuser:
            from fusion.fusers.registry import load_fuser

            return load_fuser(self.settings.fusion, settings=self.settings)

        return self._once("fuser", make)

    def get_face_detector(self) -> FaceDetector:
        def make() -> FaceDetector:
            import cv2

            from perception.faces import FaceDetector

            # OpenCV's own thread pool (one thread per core by default) would fight Whisper, torch
            # and llama.cpp for the same cores; sessions already run detections in parallel.
            if self.settings.opencv_threads > 0:
                cv2.setNumThreads(self.settings.opencv_threads)
            return FaceDetector(min_size=self.settings.face_min_size,
                                detect_width=self.settings.face_detect_width or None)

        return self._once("face_detector", make)

    def get_safety(self) -> SafetyPolicy:
        def make() -> SafetyPolicy:
            from responders.safety import SafetyPolicy

            return SafetyPolicy.from_settings(self.settings)

        return self._once("safety", make)

    def get_responder(self) -> Responder:
        def make() -> Responder:
            from responders.registry import load_responder

            return load_responder(self.settings)

        return self._once("responder", make)


def _load_expert(modality: Modality, settings: Settings) -> Expert[Any]:
    if modality == "text":
        from fusion.experts.text import TextExpert

        return TextExpert.load(settings.text_expert)
    if modality == "voice":
        from fusion.experts.voice import VoiceExpert

        return VoiceExpert.load(settings.voice_expert)
    if modality == "face":
        from fusion.experts.face import FaceExpert

        return FaceExpert.load(settings.face_expert)
    raise ValueError(f"unknown modality {modality!r}")
