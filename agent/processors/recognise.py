"""A turn's perception: the final transcript and the face and voice experts, run concurrently.

On ``TurnStarted`` for an utterance: Whisper transcribes it while the face and voice experts score
their windows; with a transcriber and voice expert that can share one encoder pass
(``SharedEncoderTranscriber`` and ``StatesVoiceExpert``), the voice expert reads the ASR pass's
encoder states.  If the ASR is still running when face and voice are done and a partial transcript
exists, a provisional emotion is fused from it.  Then ``UserWords`` says recognition is done.
Typed turns go straight to ``UserWords``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import numpy as np

from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.agent.scoring import TurnInputs, fuse_scores, present_windows
from emotion_agent.core.events import ExpertScores, Modality
from emotion_agent.core.frames import (
    EmotionFrame,
    ErrorFrame,
    ExpertScoresFrame,
    Frame,
    TranscriptFrame,
    TurnStarted,
    UserWords,
)
from emotion_agent.core.protocols import Expert, ModelSource, SharedEncoderTranscriber, StatesVoiceExpert
from emotion_agent.fusion.experts.voice_features import input_quality


class Recognise(FrameProcessor):
    name = "recognise"

    def __init__(self, experts: ModelSource, executor: BoundedExecutor, *,
                 asr: bool, rms_gate: float | None,
                 share_encoder: bool = True, provisional: bool = True, text_override: str | None = None) -> None:
        super().__init__()
        self.experts = experts
        self.executor = executor
        self.asr = asr
        self.rms_gate = rms_gate
        self.share_encoder = share_encoder
        self.provisional = provisional
        self.text_override = text_override
        """Offline: words that replace the ASR for every utterance (``analyze --text``)."""

    async def process(self, frame: Frame) -> None:
        if not isinstance(frame, TurnStarted):
            await self.push(frame)
            return
        await self.push(frame)
        if frame.utterance is None:
            await self.push(UserWords(frame.turn, frame.text or "", "text", frame.t_ready))
            return
        u = frame.utterance
        audio = u.audio if u.audio.size else None
        windows, skipped = present_windows(TurnInputs(audio=audio, faces=frame.faces), self.rms_gate)
        skipped.pop("text", None)
        asr: asyncio.Future[Any] | None = None
        states: asyncio.Future[np.ndarray] | None = None
        asr_started = time.perf_counter()
        if self.text_override is None and audio is not None and self.asr:
            asr, states = self._start_asr(audio, u.start, "voice" in windows)
        side: dict[Modality, asyncio.Future[ExpertScores | None]] = {}
        if "face" in windows:
            side["face"] = asyncio.ensure_future(self._expert("face", windows["face"]))
        if "voice" in windows:
            side["voice"] = asyncio.ensure_future(
                self._voice_from_asr(windows["voice"], states, asr) if states is not None and asr is not None
                else self._expert("voice", windows["voice"]))
        scores: dict[Modality, ExpertScores | None] = {"face": None, "voice": None, "text": None}
        for m, fut in side.items():
            scores[m] = await fut
        for s in scores.values():
            if s is not None:
                await self.push(ExpertScoresFrame(s, frame.turn))
        if (self.provisional and asr is not None and not asr.done() and frame.partial
                and any(scores.values())):
            await self._provisional(scores, frame)
        text = self.text_override or ""
        if asr is not None:
            try:
                transcript = await asr
                elapsed = time.perf_counter() - asr_started
                text = transcript.text
                await self.push(TranscriptFrame(transcript, frame.turn, elapsed * 1000, u.duration))
            except Exception as exc:
                await self.push(ErrorFrame(error_text(exc), "asr", exc))
        await self.push(UserWords(frame.turn, text, "speech", frame.t_ready,
                                  tuple(skipped.items()), start=u.start, end=u.end))

    def _start_asr(self, audio: np.ndarray, start: float, voice_present: bool
                   ) -> tuple[asyncio.Future[Any], asyncio.Future[np.ndarray] | None]:
        transcriber = self.experts.get_transcriber()
        loop = asyncio.get_running_loop()
        if voice_present and self.share_encoder and isinstance(transcriber, SharedEncoderTranscriber) \
                and isinstance(self._voice_expert(), StatesVoiceExpert):
            states: asyncio.Future[np.ndarray] = loop.create_future()

            def on_encoded(value: np.ndarray) -> None:  # runs in the ASR worker thread
                # The loop may have closed while the pass ran (the session or host went away).
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(lambda: None if states.done() else states.set_result(value))

            asr = asyncio.ensure_future(self.executor.run(transcriber.transcribe_sharing_encoder, audio,
                                                          start=start, on_encoded=on_encoded))
            return asr, states
        return asyncio.ensure_future(self.executor.run(transcriber.transcribe, audio, start=start)), None

    def _voice_expert(self) -> Expert[Any] | None:
        try:
            return self.experts.get_expert("voice")
        except Exception:
            return None

    async def _expert(self, modality: Modality, window: Any) -> ExpertScores | None:
        try:
            expert = self.experts.get_expert(modality)
            scores: ExpertScores = await self.executor.run(expert.predict, window)
        except Exception as exc:
            await self.push(ErrorFrame(error_text(exc), f"{modality}_expert", exc))
            return None
        return scores

    async def _voice_from_asr(self, window: np.ndarray, states: asyncio.Future[np.ndarray],
                              asr: asyncio.Future[Any]) -> ExpertScores | None:
        """Voice scores from the encoder states the ASR pass hands over; its own pass if none come."""
        started = time.perf_counter()
        await asyncio.wait({states, asr}, return_when=asyncio.FIRST_COMPLETED)
        if not states.done():
            return await self._expert("voice", window)
        expert = self._voice_expert()
        if not isinstance(expert, StatesVoiceExpert):
            return await self._expert("voice", window)
        try:
            return await self.executor.run(expert.predict_states, states.result(), input_quality(window), started)
        except Exception as exc:
            await self.push(ErrorFrame(error_text(exc), "voice_expert", exc))
            return None

    async def _provisional(self, scores: dict[Modality, ExpertScores | None], frame: TurnStarted) -> None:
        text_scores = await self._expert("text", frame.partial)
        try:
            result = await self.executor.run(fuse_scores, {**scores, "text": text_scores}, self.experts.get_fuser())
        except Exception as exc:
            await self.push(ErrorFrame(error_text(exc), "fusion", exc))
            return
        if result.estimate is not None:
            await self.push(EmotionFrame(result.estimate, frame.turn, provisional=True, kind=frame.kind,
                                         t_ready=frame.t_ready))
