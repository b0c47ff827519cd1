"""A live session: the composition of the pipeline's processors, plus the queues between them.

```
push_audio ─ input:  resample → audio queue (bounded: push_audio waits, never drops)
audio loop ─ audio:  vad → partial_asr → turns ─────────────┐ (TurnStarted on the turn queue)
push_video_frame → newest frame only                        │
video loop ─ video:  video_sampler → face_detect → wire_out │ (faces into the face memory)
send_text ──────────────────────────────────────────────────┤
turn loop ─ turn:    recognise → text_expert → fuse → mood → safety → handoff → respond
                     → scoring_gate → wire_out
interrupt() ─ an Interrupt control frame straight into the turn chain (overtakes the queue)
```

Spoken replies (``agent.speech``, docs/VOICE.md): ``barge_in`` after ``vad`` (echo guard; a user
speech start over the agent's voice stops it and interrupts the reply) and ``speak`` after
``respond`` (sentences → server TTS or the host's ``on_speech`` hook); the page or host reports its
own playback with ``report_speech``.

Every CPU-bound call runs in the shared ``BoundedExecutor``; stage timings come from the
``StageTimer`` observer; wire events go to the session's ``EventBus``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from emotion_agent.agent.alerts import EscalationHook
from emotion_agent.agent.bus import EventBus
from emotion_agent.agent.components import Components
from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.metrics import StageTimes
from emotion_agent.agent.mood import MoodTracker
from emotion_agent.agent.observers import StageTimer
from emotion_agent.agent.pipeline import FrameProcessor, Pipeline, error_text
from emotion_agent.agent.processors.barge_in import BargeIn
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.processors.face_detect import FaceDetect
from emotion_agent.agent.processors.face_memory import FaceMemory
from emotion_agent.agent.processors.fuse import Fuse
from emotion_agent.agent.processors.handoff import Handoff
from emotion_agent.agent.processors.mood import Mood
from emotion_agent.agent.processors.partial_asr import PartialAsr
from emotion_agent.agent.processors.recognise import Recognise
from emotion_agent.agent.processors.resample import Resample
from emotion_agent.agent.processors.respond import Respond
from emotion_agent.agent.processors.safety import Safety
from emotion_agent.agent.processors.scoring_gate import ScoringGate
from emotion_agent.agent.processors.speak import Speak
from emotion_agent.agent.processors.text_expert import TextExpertStage
from emotion_agent.agent.processors.turns import TurnAssembler
from emotion_agent.agent.processors.vad import Vad
from emotion_agent.agent.processors.video_sampler import VideoSampler
from emotion_agent.agent.processors.wire_out import WireOut
from emotion_agent.agent.profiles import Profile, get_profile
from emotion_agent.agent.serialize import wire_message
from emotion_agent.agent.speech import SpeechHook, SpeechOut, TtsMode
from emotion_agent.agent.wire import ErrorMsg, MetricsMsg, SummaryMsg
from emotion_agent.core.events import SpeechStarted, VideoFrame
from emotion_agent.core.frames import (
    AudioChunk,
    AudioInput,
    EndOfAudio,
    Frame,
    Interrupt,
    TurnFinished,
    TurnStarted,
    VideoInput,
)
from emotion_agent.core.protocols import Turn
from emotion_agent.perception.audio import SAMPLE_RATE
from emotion_agent.perception.vad import VadConfig, VadSegmenter

MAX_TEXT_CHARS = 4000
"""Typed turns longer than this are truncated (with an error event saying so)."""
AUDIO_QUEUE_CHUNKS = 200
"""Bounded audio queue: about 4 s of 20 ms chunks before ``push_audio`` waits."""
METRICS_EVERY_S = 2.0


class _AudioQueue(FrameProcessor):
    """End of the input chain: chunks onto the bounded queue (``put`` waits when it is full)."""

    name = "audio_queue"

    def __init__(self, queue: asyncio.Queue[Frame], on_chunk: Any) -> None:
        super().__init__()
        self.queue = queue
        self.on_chunk = on_chunk

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, AudioChunk):
            self.on_chunk(len(frame.pcm) / SAMPLE_RATE)
        await self.queue.put(frame)


class Session:
    """One user's conversation.  Create with ``EmotionAwareAgent.new_session``."""

    def __init__(
        self,
        components: Components,
        executor: BoundedExecutor,
        profile: str | Profile = "default",
        session_id: str | None = None,
        stage_times: StageTimes | None = None,
        partial_interval_s: float = 1.0,
        history_limit: int = 20,
        reply: bool = True,
        on_escalation: EscalationHook | None = None,
        tts: TtsMode | None = None,
        on_speech: SpeechHook | None = None,
    ) -> None:
        """``tts``: browser, server or off (default ``settings.tts``); ``on_speech``: a host's own TTS
        (gets each sentence and the stops; see ``agent.speech``)."""
        self.id = session_id or uuid.uuid4().hex[:12]
        self.components = components
        self.settings = components.settings
        self.executor = executor
        self.stage_times = stage_times or StageTimes()
        self.partial_interval_s = partial_interval_s
        self.conversation = Conversation(profile if isinstance(profile, Profile) else get_profile(profile),
                                         history_limit)
        self.reply_enabled = reply
        self.on_escalation = on_escalation
        self.bus = EventBus()
        self.speech = SpeechOut(tts or self.settings.tts, self._publish_frame, on_speech, self.stage_times)
        self.faces = FaceMemory()
        self._audio_q: asyncio.Queue[Frame] = asyncio.Queue(maxsize=AUDIO_QUEUE_CHUNKS)
        self._turn_q: asyncio.Queue[TurnStarted | None] = asyncio.Queue()
        self._audio_pending = 0
        self._jobs_pending = 0
        self._latest_frame: VideoFrame | None = None
        self._frame_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._closed = False
        self._last_metrics = 0.0
        self.audio_seconds_in = 0.0
        self.turn_audio_pending_s = 0.0
        self.video_frames_seen = 0
        self.video_frames_replaced = 0
        self.input: Pipeline | None = None
        self.audio: Pipeline | None = None
        self.video: Pipeline | None = None
        self.turn: Pipeline | None = None

    # -- composition ------------------------------------------------------------------------

    def _build(self) -> None:
        c, s, ex, conv = self.components, self.settings, self.executor, self.conversation
        observers = [StageTimer(self.stage_times)]
        self.input = Pipeline([Resample(), _AudioQueue(self._audio_q, self._count_audio)])
        vad = VadSegmenter(VadConfig.from_settings(s))
        self.audio = Pipeline([
            Vad(vad),
            PartialAsr(c, ex, self.partial_interval_s),
            TurnAssembler(conv, self.faces, self._enqueue),
            WireOut(self.bus),
        ], observers)
        gate = ScoringGate(enabled=s.video_pause_while_scoring)
        self.video = Pipeline([
            VideoSampler(s.video_fps),
            FaceDetect(c, ex, self.faces, gate=gate),
            WireOut(self.bus),
        ], observers)
        self.turn = Pipeline([
            Recognise(c, ex, asr=True, rms_gate=s.rms_gate,
                      share_encoder=s.share_whisper_encoder),
            TextExpertStage(c, ex, conv),
            Fuse(c, ex, conv),
            Mood(conv),
            Safety(c, ex, conv, session_id=self.id, on_escalation=self.on_escalation,
                   webhook_url=s.safety_webhook_url, strict_after_escalation=s.safety_strict_after_escalation),
            Handoff(conv),
            Respond(c, ex, conv, enabled=self.reply_enabled,
                    first_text_timeout_s=s.reply_first_text_timeout_s, total_timeout_s=s.reply_total_timeout_s,
                    guard=s.reply_guard),
            gate,
            WireOut(self.bus),
        ], observers)
        self.audio.insert(BargeIn(self.speech, self._barge_in, min_dbfs=s.barge_in_min_dbfs,
                                  margin_db=s.barge_in_margin_db, tail_s=s.echo_tail_ms / 1000,
                                  onset_s=s.vad_min_speech_ms / 1000), after="vad")
        self.turn.insert(Speak(self.speech, conv, ex, c.get_voice), after="respond")

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def profile(self) -> Profile:
        return self.conversation.profile

    @property
    def mood(self) -> MoodTracker:
        return self.conversation.mood

    @property
    def history(self) -> deque[Turn]:
        return self.conversation.history

    @property
    def latest_estimate(self) -> Any:
        return self.conversation.latest_estimate

    @property
    def escalations(self) -> int:
        return self.conversation.escalations

    @property
    def turns(self) -> int:
        return self.conversation.turns

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._build()
        self._tasks = [
            asyncio.create_task(self._audio_loop(), name=f"session-{self.id}-audio"),
            asyncio.create_task(self._video_loop(), name=f"session-{self.id}-video"),
            asyncio.create_task(self._turn_loop(), name=f"session-{self.id}-turns"),
        ]

    async def close(self) -> None:
        """Idempotent.  Cancels the session's tasks and sends a final summary."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for pipeline in (self.input, self.audio, self.video, self.turn):
            if pipeline is not None:
                with contextlib.suppress(Exception):
                    await pipeline.close()
        self.bus.publish(SummaryMsg(**self.summary()).dump())
        self.bus.close()

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def summary(self) -> dict[str, Any]:
        mood = self.mood.summary()
        return {**mood, "escalations": self.escalations, "profile": self.profile.name,
                "reply_guard": self.conversation.guard.as_dict()}

    # -- events ----------------------------------------------------------------------------

    def events(self) -> AsyncIterator[dict[str, Any]]:
        """Wire events as JSON-ready dicts.  The first subscriber also gets what was sent before it."""
        return self.bus.subscribe()

    def report_error(self, where: str, exc: BaseException | str) -> None:
        """An ``error`` event for the host (bad input, a failed stage); the session goes on."""
        self.bus.publish(ErrorMsg(message=error_text(exc), where=where).dump())

    # -- inputs ----------------------------------------------------------------------------

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None:
        """Any chunk of PCM (int16 or float; (n,) or (n, channels)) at any rate.  Waits when full."""
        if self._closed:
            raise RuntimeError(f"session {self.id} is closed")
        await self.start()
        assert self.input is not None
        try:
            await self.input.push(AudioInput(pcm, sample_rate))
        except ValueError as exc:  # AudioFormatError: wrong shape, rate or dtype
            self.report_error("push_audio", exc)
            raise

    def _count_audio(self, seconds: float) -> None:
        self.audio_seconds_in += seconds
        self._audio_pending += 1

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None:
        """Keep only the newest frame; older unprocessed ones are replaced (and counted)."""
        if self._closed:
            return
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            self.report_error("push_video_frame", f"expected a BGR image (h, w, 3), got shape {image_bgr.shape}")
            return
        self.video_frames_seen += 1
        if self._latest_frame is not None:
            self.video_frames_replaced += 1
        self._latest_frame = VideoFrame(image_bgr, float(timestamp))
        self._frame_event.set()

    async def send_text(self, text: str | bytes) -> None:
        """A typed turn.  Bad input (empty, non-UTF-8, huge) gets an error event; the session goes on."""
        if self._closed:
            raise RuntimeError(f"session {self.id} is closed")
        await self.start()
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                self.report_error("send_text", "text is not valid UTF-8; nothing was sent")
                return
        if not isinstance(text, str):
            self.report_error("send_text", f"text must be a string, got {type(text).__name__}")
            return
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: undecodable bytes smuggled in a str
            self.report_error("send_text", "text is not valid UTF-8; nothing was sent")
            return
        text = text.replace("\x00", "").strip()
        if not text:
            self.report_error("send_text", "empty text: nothing to respond to")
            return
        if len(text) > MAX_TEXT_CHARS:
            self.report_error("send_text", f"text of {len(text)} characters truncated to {MAX_TEXT_CHARS}")
            text = text[:MAX_TEXT_CHARS]
        await self._enqueue(TurnStarted(self.conversation.next_turn(), "text", text=text))

    async def interrupt(self) -> None:
        """Barge-in: stop the reply being generated now (the control frame overtakes queued turns)."""
        if self.turn is not None and not self._closed:
            await self.turn.push(Interrupt())

    # -- the agent's voice ------------------------------------------------------------------

    def _publish_frame(self, frame: Frame) -> None:
        msg = wire_message(frame)
        if msg is not None:
            self.bus.publish(msg.dump())

    async def _barge_in(self, event: SpeechStarted) -> None:
        """The user spoke over the agent: stop the voice now, cancel the reply, mark it cut."""
        turn = self.speech.turn
        if self.speech.interrupt(trigger_t=event.t):
            self._mark_interrupted(turn)
        await self.interrupt()

    def _mark_interrupted(self, turn: int, spoken: str | None = None) -> None:
        """The newest reply, if already complete in the history, was cut while being spoken: mark it
        (the next reply's ``context["interrupted"]``), keeping only what was said when that is known.
        A reply still being generated is marked by ``respond`` itself."""
        history = self.conversation.history
        if not history or history[-1].role != "assistant" or history[-1].interrupted:
            return
        said = spoken if spoken is not None else self.speech.spoken_text(turn)
        history[-1] = dataclasses.replace(history[-1], interrupted=True,
                                          text=said if said else history[-1].text)

    async def report_speech(self, state: str, *, turn: int = 0, reason: str = "done",
                            prosody: dict[str, float] | None = None, spoken: str | None = None) -> None:
        """The page's or the host's own voice started or stopped playing a reply.

        ``state`` "started" / "stopped"; ``reason`` "done" or "interrupted" (the user pressed Stop or
        muted the speaker: the reply is cut as for a barge-in); ``spoken``: what was said before an
        interruption.  Publishes ``speech_out_started`` / ``speech_out_stopped``."""
        source = self.speech.source if self.speech.source == "host" else "browser"
        if state == "started":
            self.speech.started(turn, source, prosody)
        elif state == "stopped" and reason == "interrupted":
            if turn and turn != self.speech.turn:
                return
            cut = self.speech.turn
            if self.speech.interrupt():
                self._mark_interrupted(cut, spoken)
                await self.interrupt()
        elif state == "stopped":
            self.speech.stopped(turn, source, "done")

    async def set_speaker(self, on: bool) -> None:
        """Speaker on or off (the page's toggle).  Off while speaking stops the voice at once."""
        self.speech.enabled = on and self.speech.mode != "off"
        if not self.speech.enabled:
            turn = self.speech.turn
            if self.speech.interrupt():
                self._mark_interrupted(turn)
                await self.interrupt()

    def speech_audio(self) -> AsyncIterator[np.ndarray]:
        """Server TTS: the agent's voice as 20 ms int16 frames of 48 kHz mono at real-time pace
        (silence between replies), for hosts without WebRTC.  ``web.tts_track`` wraps the same."""
        if self.speech.playout is None:
            raise RuntimeError(f"no server voice in this session (tts={self.speech.mode!r}; "
                               "set EMOTION_AGENT_TTS=server)")
        return self.speech.playout.frames()

    async def flush(self) -> None:
        """End of input: close an open utterance and wait until every queued turn is done."""
        await self.start()
        self._audio_pending += 1
        await self._audio_q.put(EndOfAudio())
        while self._audio_pending or self._jobs_pending:
            if self._closed:
                return
            await asyncio.sleep(0.02)

    async def _enqueue(self, turn: TurnStarted) -> None:
        self._jobs_pending += 1
        if turn.utterance is not None:
            self.turn_audio_pending_s += turn.utterance.duration
        await self._turn_q.put(turn)

    # -- loops -----------------------------------------------------------------------------

    async def _audio_loop(self) -> None:
        assert self.audio is not None
        while True:
            frame = await self._audio_q.get()
            try:
                await self.audio.push(frame)
            finally:
                self._audio_pending -= 1
            self._maybe_metrics()

    def _maybe_metrics(self) -> None:
        now = time.perf_counter()
        if now - self._last_metrics >= METRICS_EVERY_S:
            self._last_metrics = now
            self.bus.publish(self.metrics().dump())

    @property
    def audio_seconds_done(self) -> float:
        return self._vad_stage().seconds_done if self.audio is not None else 0.0

    @property
    def audio_lag_s(self) -> float:
        """Audio received but not yet through VAD, plus ended utterances not yet scored."""
        return max(0.0, self.audio_seconds_in - self.audio_seconds_done) + self.turn_audio_pending_s

    def _vad_stage(self) -> Vad:
        assert self.audio is not None
        stage = self.audio.get("vad")
        assert isinstance(stage, Vad)
        return stage

    def _face_stage(self) -> FaceDetect | None:
        if self.video is None:
            return None
        stage = self.video.get("face_detect")
        return stage if isinstance(stage, FaceDetect) else None

    def metrics(self) -> MetricsMsg:
        face = self._face_stage()
        dropped = self.video_frames_replaced + (face.dropped if face else 0)
        return MetricsMsg(audio_lag_s=round(self.audio_lag_s, 3), audio_seconds=round(self.audio_seconds_in, 3),
                          video_frames_seen=self.video_frames_seen, video_frames_dropped=dropped,
                          video_frames_paused=face.paused if face else 0,
                          stage_ms=self.stage_times.summary(), reply_guard=self.conversation.guard.as_dict())

    async def _video_loop(self) -> None:
        assert self.video is not None
        while True:
            await self._frame_event.wait()
            self._frame_event.clear()
            frame, self._latest_frame = self._latest_frame, None
            if frame is not None:
                await self.video.push(VideoInput(frame))

    async def _turn_loop(self) -> None:
        assert self.turn is not None
        while True:
            job = await self._turn_q.get()
            if job is None:
                return
            try:
                await self.turn.push(job)
                await self.turn.push(TurnFinished(job.turn))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a turn must never take the session down
                self.report_error("turn", exc)
            finally:
                self._jobs_pending -= 1
                if job.utterance is not None:
                    self.turn_audio_pending_s = max(0.0, self.turn_audio_pending_s - job.utterance.duration)

