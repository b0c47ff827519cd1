"""Offline analysis of a recording (or plain text): the live pipeline's processors with a file source.

decode (PyAV) → every sampled frame through ``face_detect`` (none dropped) → the whole audio
through ``vad`` → ``turns`` → per utterance the turn chain ``recognise → text_expert → fuse`` and a
collector that writes the JSON with the same serializer as the wire.  Output (see README):
``{"source", "duration", "utterances": [{"start", "end", "transcript", "experts", "skipped", "fused"}]}``

Three settings differ from the live session on purpose: the voice expert runs its own Whisper encoder
pass (the figures the model card documents); there is no provisional emotion or reply; and the words
are read without the earlier utterances as context unless ``context_turns`` is set — the words
expert was trained with the *other* party's previous turn as context, while a recording's earlier
utterances are usually the same speaker's (after "I got the job, I'm so happy", "I am furious that
nobody answers the phone" read in that context came out fearful; alone, angry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.agent.components import Components
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, Pipeline
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.face_detect import FaceDetect
from emotion_agent.agent.processors.face_memory import FaceMemory
from emotion_agent.agent.processors.fuse import Fuse
from emotion_agent.agent.processors.recognise import Recognise
from emotion_agent.agent.processors.text_expert import TextExpertStage
from emotion_agent.agent.processors.turns import TurnAssembler
from emotion_agent.agent.processors.vad import Vad
from emotion_agent.agent.profiles import DEFAULT
from emotion_agent.agent.serialize import estimate_json, scores_json
from emotion_agent.core.events import EmotionEstimate, ExpertScores, Modality, SpeechEnded
from emotion_agent.core.frames import (
    AudioChunk,
    EmotionFrame,
    EndOfAudio,
    ErrorFrame,
    ExpertScoresFrame,
    Frame,
    TranscriptFrame,
    TurnStarted,
    UserWords,
    VideoInput,
)
from emotion_agent.perception.decode import MediaDecodeError, decode_media
from emotion_agent.perception.vad import VadConfig, VadSegmenter

TEXT_SUFFIXES = {".txt", ".text"}


class AnalysisError(RuntimeError):
    """A stage failed while analysing (the message says which)."""


class RaiseErrors(FrameProcessor):
    """Offline, a failed stage fails the analysis with its own exception."""

    name = "raise_errors"

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, ErrorFrame):
            raise frame.error or AnalysisError(f"{frame.where}: {frame.message}")
        await self.push(frame)


class UtteranceCollector(FrameProcessor):
    """The end of the offline turn chain: one JSON entry per turn."""

    name = "collect"

    def __init__(self, text_override: str | None) -> None:
        super().__init__()
        self.text_override = text_override
        self.utterances: list[dict[str, Any]] = []
        self._scores: dict[Modality, ExpertScores | None] = {}
        self._estimate: EmotionEstimate | None = None
        self._transcript: str | None = None

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TurnStarted):
            self._scores, self._estimate, self._transcript = {}, None, frame.text
        elif isinstance(frame, ExpertScoresFrame):
            self._scores[frame.scores.modality] = frame.scores
        elif isinstance(frame, TranscriptFrame):
            self._transcript = frame.transcript.text
        elif isinstance(frame, EmotionFrame) and not frame.provisional:
            self._estimate = frame.estimate
        elif isinstance(frame, ErrorFrame):
            raise frame.error or AnalysisError(f"{frame.where}: {frame.message}")
        elif isinstance(frame, UserWords):
            transcript = self.text_override if self.text_override is not None else self._transcript
            skipped = {"text": "no words"} if not frame.text.strip() else {}
            skipped.update(dict(frame.skipped))
            self.utterances.append({
                "start": round(frame.start, 3),
                "end": round(frame.end, 3),
                "transcript": transcript,
                "experts": {m: scores_json(self._scores.get(m)) for m in ("face", "voice", "text")},
                "skipped": skipped,
                "fused": estimate_json(self._estimate),
            })
        await self.push(frame)


def _turn_chain(components: Components, executor: BoundedExecutor, text: str | None,
                context_turns: int = 0) -> tuple[Pipeline,
                                                                                                UtteranceCollector]:
    conv = Conversation(DEFAULT)
    collector = UtteranceCollector(text)
    chain = Pipeline([
        Recognise(components, executor, asr=True, rms_gate=components.settings.rms_gate, share_encoder=False,
                  provisional=False, text_override=text),
        TextExpertStage(components, executor, context_turns=context_turns),
        Fuse(components, executor, conv),
        collector,
    ])
    return chain, collector


async def analyze_text(text: str, components: Components, executor: BoundedExecutor) -> dict[str, Any]:
    if not text.strip():
        raise ValueError("empty text: nothing to analyze")
    chain, collector = _turn_chain(components, executor, None)
    await chain.push(TurnStarted(1, "text", text=text))
    return {"source": "text", "duration": None, "utterances": collector.utterances}


async def analyze_path(path: Path, components: Components, executor: BoundedExecutor,
                       text: str | None = None, context_turns: int = 0) -> dict[str, Any]:
    """Analyze a media file (or a .txt file).  ``text`` replaces the ASR words for every utterance."""
    path = Path(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise MediaDecodeError(f"{path}: text file is not UTF-8") from None
        return await analyze_text(content, components, executor) | {"source": str(path)}
    settings = components.settings
    media = await executor.run(decode_media, path, video_fps=settings.video_fps)
    if media.audio is None:
        raise MediaDecodeError(f"{path}: no audio track (analyze needs speech; for text use --text)")
    faces = FaceMemory(memory_s=float("inf"), max_per_turn=None, fallback_recent=False)
    video = Pipeline([FaceDetect(components, executor, faces, drop=False), RaiseErrors()])
    for frame in media.frames:
        await video.push(VideoInput(frame))
    turns: list[TurnStarted] = []

    async def enqueue(turn: TurnStarted) -> None:
        turns.append(turn)

    audio = Pipeline([Vad(VadSegmenter(VadConfig.from_settings(settings))),
                      TurnAssembler(Conversation(DEFAULT), faces, enqueue)])
    await audio.push(AudioChunk(media.audio))
    await audio.push(EndOfAudio())
    if not turns and len(faces):
        # No speech at all, but a face: one window over the whole clip so the face still counts.
        whole = SpeechEnded(0.0, media.duration, np.zeros(0, dtype=np.float32))
        turns = [TurnStarted(1, "speech", utterance=whole, faces=faces.for_utterance(whole))]
    chain, collector = _turn_chain(components, executor, text, context_turns)
    for turn in turns:
        await chain.push(turn)
    return {
        "source": str(path),
        "duration": round(media.duration, 3),
        "faces_seen": len(faces),
        "frames_sampled": len(media.frames),
        "utterances": collector.utterances,
    }
