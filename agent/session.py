"""A live session: perception events in, typed events out.

Audio: ``push_audio`` → streaming resampler (16 kHz mono) → bounded queue (back-pressure, never a
silent drop) → VAD → partial transcripts while speaking → at the end of an utterance, a turn.
Video: ``push_video_frame`` keeps only the newest frame; a task samples it at ``video_fps`` and
detects faces in the executor, dropping frames (counted) when the executor is saturated.
Turns (spoken or typed) run one at a time: ASR, voice and face experts concurrently; a provisional
emotion from the partial transcript; text expert; fusion; mood; safety; a streamed reply.
Every CPU-bound call runs in the shared ``BoundedExecutor``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.components import Components
from agent.executors import BoundedExecutor, Saturated
from agent.metrics import StageTimes
from agent.mood import MoodTracker
from agent.profiles import Profile, get_profile
from agent.replies import ReplyStreamer
from agent.turns import fuse_scores, present_windows
from agent.wire import (
    ErrorMsg,
    FaceMsg,
    HandoffMsg,
    MetricsMsg,
    MoodMsg,
    MoodShiftMsg,
    ReplyDeltaMsg,
    ReplyMsg,
    SpeechMsg,
    SummaryMsg,
    TrendReportMsg,
    Wire,
    emotion_msg,
    scores_msg,
    transcript_msg,
)
from emotion_agent.events import (
    EmotionEstimate,
    ExpertScores,
    FaceCrop,
    Modality,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    VideoFrame,
)
from emotion_agent.protocols import Turn
from perception.audio import SAMPLE_RATE, AudioFormatError, StreamingResampler
from perception.vad import VadSegmenter

MAX_TEXT_CHARS = 4000
"""Typed turns longer than this are truncated (with an error event saying so)."""
AUDIO_QUEUE_CHUNKS = 200
"""Bounded audio queue: about 4 s of 20 ms chunks before ``push_audio`` waits."""
FACE_MEMORY_S = 30.0
RECENT_FACE_S = 3.0
MAX_FACES_PER_TURN = 8


@dataclass
class _TurnJob:
    kind: str  # "speech" | "text"
    text: str | None = None
    utterance: SpeechEnded | None = None
    partial: str = ""
    t_ready: float = field(default_factory=time.perf_counter)


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
    ) -> None:
        self.id = session_id or uuid.uuid4().hex[:12]
        self.components = components
        self.settings = components.settings
        self.profile = profile if isinstance(profile, Profile) else get_profile(profile)
        self.executor = executor
        self.stage_times = stage_times or StageTimes()
        self.partial_interval_s = partial_interval_s
        self.history: deque[Turn] = deque(maxlen=history_limit)
        self.reply_enabled = reply
        self.mood = MoodTracker()
        self.escalations = 0
        self.turns = 0
        self.latest_estimate: EmotionEstimate | None = None
        self._subscribers: list[asyncio.Queue[dict[str, Any] | None]] = []
        self._backlog: deque[dict[str, Any]] = deque(maxlen=256)
        self._resampler = StreamingResampler()
        self._vad: VadSegmenter | None = None
        self._audio_q: asyncio.Queue[np.ndarray | None] = asyncio.Queue(maxsize=AUDIO_QUEUE_CHUNKS)
        self._audio_pending = 0
        self._jobs_pending = 0
        self._turn_q: asyncio.Queue[_TurnJob | None] = asyncio.Queue()
        self._latest_frame: VideoFrame | None = None
        self._frame_event = asyncio.Event()
        self._faces: deque[FaceCrop] = deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._partial_task: asyncio.Task[None] | None = None
        self._last_partial = ""
        self._last_partial_at = 0.0
        self._started = False
        self._closed = False
        self.audio_seconds_in = 0.0
        self.audio_seconds_done = 0.0
        self.turn_audio_pending_s = 0.0
        self.video_frames_seen = 0
        self.video_frames_dropped = 0
        self._last_frame_ts = -1e9
        self._last_face_msg = 0.0
        self._scoring_turn = False  # from the end of an utterance to the reply's first text
        self.video_frames_paused = 0
        self._last_metrics = 0.0
        self._replies = ReplyStreamer(components, executor, self.stage_times, self._emit,
                                      first_text_timeout_s=self.settings.reply_first_text_timeout_s,
                                      total_timeout_s=self.settings.reply_total_timeout_s)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        from agent.analyze import vad_config

        self._vad = VadSegmenter(vad_config(self.components))
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
        tasks = [*self._tasks, *([self._partial_task] if self._partial_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._emit(SummaryMsg(**self.summary()))
        for q in self._subscribers:
            q.put_nowait(None)

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def summary(self) -> dict[str, Any]:
        mood = self.mood.summary()
        return {**mood, "escalations": self.escalations, "profile": self.profile.name}

    # -- events ----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Wire events as JSON-ready dicts.  The first subscriber also gets what was sent before it."""
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        if not self._subscribers:
            for backlog_item in self._backlog:
                q.put_nowait(backlog_item)
            self._backlog.clear()
        self._subscribers.append(q)
        if self._closed:
            q.put_nowait(None)
        try:
            while True:
                item = await q.get()
                if item is None:
                    return
                yield item
        finally:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(q)

    def _emit(self, msg: Wire) -> None:
        if self._scoring_turn and isinstance(msg, (ReplyDeltaMsg, ReplyMsg)):
            self._scoring_turn = False
        data = msg.dump()
        if not self._subscribers:
            self._backlog.append(data)
        for q in self._subscribers:
            q.put_nowait(data)

    def _error(self, where: str, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        self._emit(ErrorMsg(message=text, where=where))

    # -- inputs ----------------------------------------------------------------------------

    async def push_audio(self, pcm: np.ndarray, sample_rate: int) -> None:
        """Any chunk of PCM (int16 or float; (n,) or (n, channels)) at any rate.  Waits when full."""
        if self._closed:
            raise RuntimeError(f"session {self.id} is closed")
        if not self._started:
            await self.start()
        try:
            chunk = self._resampler(pcm, sample_rate)
        except AudioFormatError as exc:
            self._error("push_audio", exc)
            raise
        if chunk.size:
            self.audio_seconds_in += len(chunk) / SAMPLE_RATE
            self._audio_pending += 1
            await self._audio_q.put(chunk)

    def push_video_frame(self, image_bgr: np.ndarray, timestamp: float) -> None:
        """Keep only the newest frame; older unprocessed ones are dropped (and counted)."""
        if self._closed:
            return
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            self._error("push_video_frame", f"expected a BGR image (h, w, 3), got shape {image_bgr.shape}")
            return
        self.video_frames_seen += 1
        if self._latest_frame is not None:
            self.video_frames_dropped += 1
        self._latest_frame = VideoFrame(image_bgr, float(timestamp))
        self._frame_event.set()

    async def send_text(self, text: str | bytes) -> None:
        """A typed turn.  Bad input (empty, non-UTF-8, huge) gets an error event; the session goes on."""
        if self._closed:
            raise RuntimeError(f"session {self.id} is closed")
        if not self._started:
            await self.start()
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                self._error("send_text", "text is not valid UTF-8; nothing was sent")
                return
        if not isinstance(text, str):
            self._error("send_text", f"text must be a string, got {type(text).__name__}")
            return
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: undecodable bytes smuggled in a str
            self._error("send_text", "text is not valid UTF-8; nothing was sent")
            return
        text = text.replace("\x00", "").strip()
        if not text:
            self._error("send_text", "empty text: nothing to respond to")
            return
        if len(text) > MAX_TEXT_CHARS:
            self._error("send_text", f"text of {len(text)} characters truncated to {MAX_TEXT_CHARS}")
            text = text[:MAX_TEXT_CHARS]
        await self._enqueue(_TurnJob("text", text=text))

    async def flush(self) -> None:
        """End of input: close an open utterance and wait until every queued turn is done."""
        self._audio_pending += 1
        await self._audio_q.put(None)
        while self._audio_pending or self._jobs_pending:
            if self._closed:
                return
            await asyncio.sleep(0.02)

    async def _enqueue(self, job: _TurnJob) -> None:
        self._jobs_pending += 1
        await self._turn_q.put(job)

    # -- audio -----------------------------------------------------------------------------

    async def _audio_loop(self) -> None:
        assert self._vad is not None
        while True:
            chunk = await self._audio_q.get()
            if chunk is None:
                events: list[SpeechStarted | SpeechEnded] = self._vad.flush()
            else:
                started = time.perf_counter()
                events = self._vad.process(chunk)
                self.stage_times.add("vad", (time.perf_counter() - started) * 1000)
                self.audio_seconds_done += len(chunk) / SAMPLE_RATE
            for event in events:
                if isinstance(event, SpeechStarted):
                    self._last_partial, self._last_partial_at = "", time.perf_counter()
                    self._emit(SpeechMsg(state="started", start=round(event.start, 3)))
                else:
                    self._emit(SpeechMsg(state="ended", start=round(event.start, 3), end=round(event.end, 3)))
                    self.turn_audio_pending_s += event.duration
                    await self._enqueue(_TurnJob("speech", utterance=event, partial=self._last_partial))
            self._audio_pending -= 1
            if self._vad.in_speech and time.perf_counter() - self._last_partial_at >= self.partial_interval_s:
                self._maybe_partial()
            self._maybe_metrics()

    def _maybe_partial(self) -> None:
        if self._partial_task is not None and not self._partial_task.done():
            return  # still transcribing the previous partial: skip, partials are best-effort
        assert self._vad is not None
        audio, start = self._vad.current_audio, self._vad.current_start
        self._last_partial_at = time.perf_counter()
        self._partial_task = asyncio.create_task(self._partial(audio, start))

    async def _partial(self, audio: np.ndarray, start: float) -> None:
        transcriber = self.components.get_transcriber()
        try:
            result: Transcript = await self.executor.try_run(transcriber.transcribe, audio, start=start,
                                                             is_final=False)
        except Saturated:
            return
        except Exception as exc:
            self._error("asr_partial", exc)
            return
        if result.text and self._vad is not None and self._vad.in_speech:
            self._last_partial = result.text
            self._emit(transcript_msg(result))

    def _maybe_metrics(self, every_s: float = 2.0) -> None:
        now = time.perf_counter()
        if now - self._last_metrics >= every_s:
            self._last_metrics = now
            self._emit(self.metrics())

    @property
    def audio_lag_s(self) -> float:
        """Audio received but not yet through VAD, plus ended utterances not yet scored."""
        return max(0.0, self.audio_seconds_in - self.audio_seconds_done) + self.turn_audio_pending_s

    def metrics(self) -> MetricsMsg:
        return MetricsMsg(audio_lag_s=round(self.audio_lag_s, 3), audio_seconds=round(self.audio_seconds_in, 3),
                          video_frames_seen=self.video_frames_seen,
                          video_frames_dropped=self.video_frames_dropped + self.executor.rejected,
                          video_frames_paused=self.video_frames_paused,
                          stage_ms=self.stage_times.summary())

    # -- video -----------------------------------------------------------------------------

    async def _video_loop(self) -> None:
        min_gap = 1.0 / max(self.settings.video_fps, 0.1)
        while True:
            await self._frame_event.wait()
            self._frame_event.clear()
            frame, self._latest_frame = self._latest_frame, None
            if frame is None or frame.timestamp - self._last_frame_ts < min_gap:
                continue
            if self._scoring_turn and self.settings.video_pause_while_scoring:
                # The utterance's faces are in already; its ASR, experts and first reply text need the cores.
                self.video_frames_paused += 1
                continue
            self._last_frame_ts = frame.timestamp
            detector = self.components.get_face_detector()
            started = time.perf_counter()
            try:
                face = await self.executor.try_run(detector.detect_largest, frame.image, frame.timestamp)
            except Saturated:
                self.video_frames_dropped += 1
                continue
            except Exception as exc:
                self._error("face_detect", exc)
                continue
            self.stage_times.add("face_detect", (time.perf_counter() - started) * 1000)
            if face is None:
                continue
            self._faces.append(face)
            while self._faces and self._faces[0].timestamp < face.timestamp - FACE_MEMORY_S:
                self._faces.popleft()
            if time.perf_counter() - self._last_face_msg > 0.5:
                self._last_face_msg = time.perf_counter()
                self._emit(FaceMsg(box=face.box, timestamp=round(face.timestamp, 3)))

    def _faces_for(self, job: _TurnJob) -> list[FaceCrop]:
        faces: list[FaceCrop] = []
        if job.utterance is not None:
            u = job.utterance
            faces = [f for f in self._faces if u.start - 0.25 <= f.timestamp <= u.end + 0.25]
        if not faces:  # typed turn, or media clocks disagree: the faces seen just now
            cutoff = time.monotonic() - RECENT_FACE_S
            faces = [f for f in self._faces if f.t >= cutoff]
        if len(faces) > MAX_FACES_PER_TURN:
            idx = np.linspace(0, len(faces) - 1, MAX_FACES_PER_TURN).round().astype(int)
            faces = [faces[i] for i in idx]
        return faces

    # -- turns -----------------------------------------------------------------------------

    async def _turn_loop(self) -> None:
        while True:
            job = await self._turn_q.get()
            if job is None:
                return
            try:
                await self._turn(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a turn must never take the session down
                self._error("turn", exc)
            finally:
                self._jobs_pending -= 1
                if job.utterance is not None:
                    self.turn_audio_pending_s = max(0.0, self.turn_audio_pending_s - job.utterance.duration)

    async def _expert(self, modality: Modality, window: Any) -> ExpertScores | None:
        started = time.perf_counter()
        try:
            expert = self.components.get_expert(modality)
            scores: ExpertScores = await self.executor.run(expert.predict, window)
        except Exception as exc:
            self._error(f"{modality}_expert", exc)
            return None
        self.stage_times.add(modality, (time.perf_counter() - started) * 1000)
        return scores

    def _shares_encoder(self, transcriber: Any) -> bool:
        """One Whisper encoder pass for ASR and the voice expert, when both sides support it."""
        if not self.settings.share_whisper_encoder:
            return False
        try:
            voice = self.components.get_expert("voice")
            accepts = "on_encoded" in inspect.signature(transcriber.transcribe).parameters
        except Exception:
            return False
        return accepts and hasattr(voice, "predict_states")

    async def _voice_from_asr(self, window: np.ndarray, states: asyncio.Future[np.ndarray],
                              asr: asyncio.Future[Any]) -> ExpertScores | None:
        """Voice scores from the encoder states the ASR pass hands over; its own pass if none come."""
        started = time.perf_counter()
        await asyncio.wait({states, asr}, return_when=asyncio.FIRST_COMPLETED)
        if not states.done():
            return await self._expert("voice", window)
        try:
            from fusion.experts.voice_features import input_quality

            expert: Any = self.components.get_expert("voice")
            scores: ExpertScores = await self.executor.run(
                expert.predict_states, states.result(), input_quality(window), started)
        except Exception as exc:
            self._error("voice_expert", exc)
            return None
        self.stage_times.add("voice", (time.perf_counter() - started) * 1000)
        return scores

    async def _fuse(self, scores: dict[Modality, ExpertScores | None]) -> EmotionEstimate | None:
        if not any(v is not None for v in scores.values()):
            return None
        started = time.perf_counter()
        try:
            result = await self.executor.run(fuse_scores, scores, self.components.get_fuser())
        except Exception as exc:
            self._error("fusion", exc)
            return None
        self.stage_times.add("fusion", (time.perf_counter() - started) * 1000)
        return result.estimate

    async def _turn(self, job: _TurnJob) -> None:
        self._scoring_turn = job.utterance is not None
        try:
            await self._score_turn(job)
        finally:
            self._scoring_turn = False

    async def _score_turn(self, job: _TurnJob) -> None:
        self.turns += 1
        turn_no = self.turns
        t0 = job.t_ready
        faces = self._faces_for(job)
        scores: dict[Modality, ExpertScores | None] = {"face": None, "voice": None, "text": None}
        prefix = "eou" if job.kind == "speech" else "text"
        text = job.text or ""
        if job.utterance is not None:
            u = job.utterance
            windows, _ = present_windows(_inputs(u.audio, None, faces), self.settings.rms_gate)
            transcriber = self.components.get_transcriber()
            asr_started = time.perf_counter()
            shared = "voice" in windows and self._shares_encoder(transcriber)
            loop = asyncio.get_running_loop()
            states: asyncio.Future[np.ndarray] = loop.create_future()

            def on_encoded(value: np.ndarray) -> None:  # runs in the ASR worker thread
                loop.call_soon_threadsafe(lambda: None if states.done() else states.set_result(value))

            asr_kwargs: dict[str, Any] = {"start": u.start}
            if shared:
                asr_kwargs["on_encoded"] = on_encoded
            asr = asyncio.ensure_future(self.executor.run(transcriber.transcribe, u.audio, **asr_kwargs))
            side: dict[Modality, asyncio.Future[ExpertScores | None]] = {}
            if "face" in windows:
                side["face"] = asyncio.ensure_future(self._expert("face", windows["face"]))
            if "voice" in windows:
                side["voice"] = asyncio.ensure_future(
                    self._voice_from_asr(windows["voice"], states, asr) if shared
                    else self._expert("voice", windows["voice"]))
            for m, fut in side.items():
                scores[m] = await fut
            if not asr.done() and job.partial and any(scores.values()):
                partial_text = await self._expert("text", job.partial)
                provisional = await self._fuse({**scores, "text": partial_text})
                if provisional is not None:
                    self._emit(emotion_msg(provisional, provisional=True, turn=turn_no))
                    self.stage_times.add(f"{prefix}_to_provisional_emotion", (time.perf_counter() - t0) * 1000)
            try:
                transcript = await asr
                asr_s = time.perf_counter() - asr_started
                self.stage_times.add("asr", asr_s * 1000)
                self.stage_times.add("asr_rtf", asr_s / max(u.duration, 1e-3))  # unitless, not ms
                text = transcript.text
                self._emit(transcript_msg(transcript))
            except Exception as exc:
                self._error("asr", exc)
        if text.strip():
            scores["text"] = await self._expert("text", text)
        for s in scores.values():
            if s is not None:
                self._emit(scores_msg(s))
        estimate = await self._fuse(scores)
        if estimate is not None:
            self.latest_estimate = estimate
            self._emit(emotion_msg(estimate, turn=turn_no))
            self.stage_times.add(f"{prefix}_to_emotion", (time.perf_counter() - t0) * 1000)
            self._update_mood(estimate)
        if not text.strip():
            return  # nothing was said in words: no reply to a cough
        self.history.append(Turn("user", text, estimate.label if estimate else None))
        reply = await self._reply(text, estimate, turn_no, t0, prefix)
        if reply:
            self.history.append(Turn("assistant", reply))

    def _update_mood(self, estimate: EmotionEstimate) -> None:
        shift = self.mood.update(estimate)
        self._emit(MoodMsg(valence=round(self.mood.valence, 4), arousal=round(self.mood.arousal, 4),
                           trend=self.mood.trend(), t=round(time.monotonic(), 3)))
        if shift is not None:
            self._emit(MoodShiftMsg(from_=shift.from_state, to=shift.to_state, t=round(shift.t, 3)))
        every = self.profile.trend_report_every
        if every and self.turns % every == 0:
            trend = self.mood.trend()
            self._emit(TrendReportMsg(trend=trend, turns=self.turns,
                                      text=f"Over the last {self.turns} check-ins your mood looks {trend}."))

    async def _reply(self, text: str, estimate: EmotionEstimate | None, turn_no: int, t0: float,
                     prefix: str) -> str:
        # In the executor: the first call loads the safety screen's sentence encoder, and each check
        # embeds the text (≈ 10 ms), neither of which belongs on the event loop.
        verdict = await self.executor.run(self._check_user, text)
        if verdict.flagged:
            self.escalations += 1
            self._emit(self._replies.escalation(verdict, "user"))
            return self._replies.fixed_reply(verdict.message, turn_no, "safety")
        handoff = self.profile.handoff_after_angry_turns
        if handoff and self.mood.streak("angry") >= handoff:
            self._emit(HandoffMsg(reason=f"angry for {self.mood.streak('angry')} turns in a row",
                                  message=self.profile.handoff_message))
        if not self.reply_enabled:
            return ""
        return await self._replies.stream(
            list(self.history), estimate, self.mood, self.profile, turn_no, t0, prefix,
            on_escalation=self._count_escalation,
        )

    def _check_user(self, text: str) -> Any:
        return self.components.get_safety().check_user(text, level=self.profile.safety_level)

    def _count_escalation(self) -> None:
        self.escalations += 1


def _inputs(audio: np.ndarray | None, text: str | None, faces: Sequence[FaceCrop]) -> Any:
    from agent.turns import TurnInputs

    return TurnInputs(audio=audio, text=text, faces=tuple(faces))
