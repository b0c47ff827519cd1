"""Offline analysis of a recording (or plain text): the same stages as the live path, run on a file.

decode (PyAV) → 16 kHz mono → VAD utterances → per utterance: Whisper transcript, voice window,
the faces seen during it → experts → fuser.  Output shape (see README):
``{"source", "duration", "utterances": [{"start", "end", "transcript", "experts": {...}, "fused": {...}}]}``
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.components import Components
from agent.turns import TurnInputs, TurnResult, estimate_json, score_turn, scores_json
from emotion_agent.events import FaceCrop, SpeechEnded, VideoFrame
from perception.decode import MediaDecodeError, decode_media
from perception.vad import VadConfig, VadSegmenter

FACE_WINDOW_MARGIN_S = 0.25
"""Faces seen this close to an utterance's edges still count for it."""
TEXT_SUFFIXES = {".txt", ".text"}


def vad_config(components: Components) -> VadConfig:
    s = components.settings
    return VadConfig(
        frame_ms=s.vad_frame_ms,
        aggressiveness=s.vad_aggressiveness,
        preroll_ms=s.vad_preroll_ms,
        hangover_ms=s.vad_hangover_ms,
        min_speech_ms=s.vad_min_speech_ms,
        max_utterance_s=s.vad_max_utterance_s,
    )


def detect_faces(frames: Sequence[VideoFrame], components: Components) -> list[FaceCrop]:
    if not frames:
        return []
    detector = components.get_face_detector()
    crops: list[FaceCrop] = []
    for frame in frames:
        face = detector.detect_largest(frame.image, frame.timestamp)
        if face is not None:
            crops.append(face)
    return crops


def faces_between(crops: Sequence[FaceCrop], start: float, end: float) -> list[FaceCrop]:
    return [c for c in crops if start - FACE_WINDOW_MARGIN_S <= c.timestamp <= end + FACE_WINDOW_MARGIN_S]


def utterance_json(start: float, end: float, transcript: str | None, result: TurnResult) -> dict[str, Any]:
    return {
        "start": round(start, 3),
        "end": round(end, 3),
        "transcript": transcript,
        "experts": {m: scores_json(result.scores.get(m)) for m in ("face", "voice", "text")},
        "skipped": result.skipped,
        "fused": estimate_json(result.estimate),
    }


def analyze_text(text: str, components: Components) -> dict[str, Any]:
    if not text.strip():
        raise ValueError("empty text: nothing to analyze")
    result = score_turn(TurnInputs(text=text), components.get_expert, components.get_fuser())
    return {"source": "text", "duration": None, "utterances": [utterance_json(0.0, 0.0, text, result)]}


def analyze_path(path: Path, components: Components, text: str | None = None) -> dict[str, Any]:
    """Analyze a media file (or a .txt file).  ``text`` replaces the ASR words for every utterance."""
    path = Path(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            return analyze_text(path.read_text(encoding="utf-8"), components) | {"source": str(path)}
        except UnicodeDecodeError:
            raise MediaDecodeError(f"{path}: text file is not UTF-8") from None
    settings = components.settings
    media = decode_media(path, video_fps=settings.video_fps)
    if media.audio is None:
        raise MediaDecodeError(f"{path}: no audio track (analyze needs speech; for text use --text)")
    crops = detect_faces(media.frames, components)
    segmenter = VadSegmenter(vad_config(components))
    utterances: list[SpeechEnded] = [
        e for e in (*segmenter.process(media.audio), *segmenter.flush()) if isinstance(e, SpeechEnded)
    ]
    out: list[dict[str, Any]] = []
    if not utterances and crops:
        # No speech at all, but a face: one window over the whole clip so the face still counts.
        utterances = [SpeechEnded(0.0, media.duration, np.zeros(0, dtype=np.float32))]
    fuser = components.get_fuser()
    for utt in utterances:
        words = text
        if words is None and utt.audio.size:
            words = components.get_transcriber().transcribe(utt.audio, start=utt.start).text
        inputs = TurnInputs(audio=utt.audio if utt.audio.size else None, text=words,
                            faces=faces_between(crops, utt.start, utt.end))
        result = score_turn(inputs, components.get_expert, fuser, settings.rms_gate)
        out.append(utterance_json(utt.start, utt.end, words, result))
    return {
        "source": str(path),
        "duration": round(media.duration, 3),
        "faces_seen": len(crops),
        "frames_sampled": len(media.frames),
        "utterances": out,
    }
