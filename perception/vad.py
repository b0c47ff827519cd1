"""Voice activity detection: webrtcvad frames → utterances with pre-roll and hang-over.

The segmenter is streaming: feed 16 kHz float audio in chunks of any size; it emits
``SpeechStarted`` once ``min_speech_ms`` of consecutive voiced frames are seen (its ``start``
includes the pre-roll), and ``SpeechEnded`` with the whole utterance after ``hangover_ms`` of
non-speech, after ``max_utterance_s``, or at ``flush()``.  No audio inside an utterance is lost;
audio outside utterances is counted in ``stats``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emotion_agent.core.events import SpeechEnded, SpeechStarted
from emotion_agent.core.settings import Settings
from emotion_agent.perception.audio import SAMPLE_RATE, float_to_int16

FrameClassifier = Callable[[np.ndarray], bool]
"""Takes one frame of float32 16 kHz audio, returns True when it holds speech."""


@dataclass
class VadConfig:
    frame_ms: int = 30
    """webrtcvad accepts 10, 20 or 30 ms frames."""
    aggressiveness: int = 2
    """0 (least) to 3 (most aggressive at calling frames non-speech)."""
    preroll_ms: int = 300
    """Audio kept before the first voiced frame, so word onsets are not clipped."""
    hangover_ms: int = 450
    """Non-speech needed to end an utterance."""
    min_speech_ms: int = 150
    """Consecutive voiced audio needed to start one (shorter blips are ignored)."""
    max_utterance_s: float = 15.0
    """Utterances are cut here so a monologue still produces turns."""

    @classmethod
    def from_settings(cls, s: Settings) -> VadConfig:
        return cls(frame_ms=s.vad_frame_ms, aggressiveness=s.vad_aggressiveness, preroll_ms=s.vad_preroll_ms,
                   hangover_ms=s.vad_hangover_ms, min_speech_ms=s.vad_min_speech_ms,
                   max_utterance_s=s.vad_max_utterance_s)

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise ValueError(f"frame_ms must be 10, 20 or 30, got {self.frame_ms}")
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError(f"aggressiveness must be 0..3, got {self.aggressiveness}")


@dataclass
class VadStats:
    frames: int = 0
    voiced_frames: int = 0
    utterances: int = 0
    samples_outside_speech: int = 0


def webrtc_classifier(aggressiveness: int) -> FrameClassifier:
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)

    def classify(frame: np.ndarray) -> bool:
        return bool(vad.is_speech(float_to_int16(frame).tobytes(), SAMPLE_RATE))

    return classify


def energy_classifier(threshold: float = 0.008) -> FrameClassifier:
    """RMS threshold per frame (the late-fusion seed's gate level), for tests and noisy rooms."""

    def classify(frame: np.ndarray) -> bool:
        return float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))) >= threshold

    return classify


class VadSegmenter:
    """Implements ``VoiceActivityDetector``."""

    def __init__(self, config: VadConfig | None = None, classifier: FrameClassifier | None = None) -> None:
        self.config = config or VadConfig()
        self._classify = classifier or webrtc_classifier(self.config.aggressiveness)
        self._frame = SAMPLE_RATE * self.config.frame_ms // 1000
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, self.config.preroll_ms // self.config.frame_ms))
        self._start_frames = max(1, self.config.min_speech_ms // self.config.frame_ms)
        self._hang_frames = max(1, self.config.hangover_ms // self.config.frame_ms)
        self._max_frames = int(self.config.max_utterance_s * 1000 / self.config.frame_ms)
        self._pending = np.zeros(0, dtype=np.float32)
        self._position = 0  # samples consumed into frames so far
        self._voiced_run = 0
        self._silence_run = 0
        self._utterance: list[np.ndarray] | None = None
        self._utterance_start = 0
        self.stats = VadStats()

    @property
    def in_speech(self) -> bool:
        return self._utterance is not None

    @property
    def current_audio(self) -> np.ndarray:
        """The open utterance so far (empty when not in speech); for partial transcripts."""
        if self._utterance is None:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._utterance)

    @property
    def current_start(self) -> float:
        return self._utterance_start / SAMPLE_RATE

    def process(self, audio: np.ndarray) -> list[SpeechStarted | SpeechEnded]:
        if audio.ndim != 1:
            raise ValueError(f"VAD expects mono audio of shape (n,), got {audio.shape}")
        buf = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        events: list[SpeechStarted | SpeechEnded] = []
        n_full = len(buf) // self._frame
        for i in range(n_full):
            events.extend(self._step(buf[i * self._frame : (i + 1) * self._frame]))
        self._pending = buf[n_full * self._frame :]
        return events

    def flush(self) -> list[SpeechStarted | SpeechEnded]:
        events: list[SpeechStarted | SpeechEnded] = []
        if self._utterance is not None:
            if self._pending.size:
                self._utterance.append(self._pending)
                self._position += len(self._pending)
            events.append(self._close())
        else:
            self.stats.samples_outside_speech += len(self._pending) + sum(len(f) for f in self._preroll)
            self._preroll.clear()
            self._position += len(self._pending)
        self._pending = np.zeros(0, dtype=np.float32)
        self._voiced_run = self._silence_run = 0
        return events

    def _step(self, frame: np.ndarray) -> list[SpeechStarted | SpeechEnded]:
        voiced = self._classify(frame)
        self.stats.frames += 1
        self.stats.voiced_frames += int(voiced)
        self._position += len(frame)
        if self._utterance is None:
            if len(self._preroll) == self._preroll.maxlen:
                self.stats.samples_outside_speech += len(self._preroll[0])
            self._preroll.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._start_frames:
                self._utterance = list(self._preroll)
                self._preroll.clear()
                self._utterance_start = self._position - sum(len(f) for f in self._utterance)
                self._silence_run = 0
                return [SpeechStarted(start=self._utterance_start / SAMPLE_RATE)]
            return []
        self._utterance.append(frame)
        self._silence_run = 0 if voiced else self._silence_run + 1
        if self._silence_run >= self._hang_frames or len(self._utterance) >= self._max_frames:
            ended = self._close()
            if voiced:  # cut by max length while speaking: carry on in a new utterance
                self._utterance = []
                self._utterance_start = self._position
                return [ended, SpeechStarted(start=self._position / SAMPLE_RATE)]
            return [ended]
        return []

    def _close(self) -> SpeechEnded:
        assert self._utterance is not None
        audio = np.concatenate(self._utterance) if self._utterance else np.zeros(0, dtype=np.float32)
        start = self._utterance_start / SAMPLE_RATE
        self._utterance = None
        self._voiced_run = 0
        self.stats.utterances += 1
        return SpeechEnded(start=start, end=start + len(audio) / SAMPLE_RATE, audio=audio)


def segment(audio: np.ndarray, config: VadConfig | None = None,
            classifier: FrameClassifier | None = None) -> list[SpeechEnded]:
    """Offline helper: all utterances in a whole recording."""
    seg = VadSegmenter(config, classifier)
    events = [*seg.process(audio), *seg.flush()]
    return [e for e in events if isinstance(e, SpeechEnded)]
