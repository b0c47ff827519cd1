from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from emotion_agent.agent.facade import EmotionAwareAgent, SessionLimitError
from emotion_agent.agent.pipeline import FrameProcessor
from emotion_agent.agent.session import Session
from emotion_agent.core.events import Transcript
from emotion_agent.core.frames import Frame, TranscriptFrame, UserWords, WireFrame
from emotion_agent.core.protocols import SharedEncoderTranscriber
from emotion_agent.core.protocols import StatesVoiceExpert as StatesVoiceExpertProtocol
from emotion_agent.core.settings import Settings
from emotion_agent.responders.template import TemplateResponder
from tests.agent_fakes import EchoResponder, FakeTranscriber, fake_components
from tests.conftest import silence, speechlike


async def collect(session: Session, until: str, count: int = 1, wait_s: float = 10.0) -> list[dict[str, Any]]:
    """Events until ``count`` events of type ``until`` were seen."""
    seen: list[dict[str, Any]] = []

    async def run() -> None:
        n = 0
        async for event in session.events():
            seen.append(event)
            if event["type"] == until:
                n += 1
                if n >= count:
                    return

    await asyncio.wait_for(run(), wait_s)
    return seen


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_text_turn_gets_emotion_and_streamed_reply() -> None:
    agent = EmotionAwareAgent(components=fake_components())
    async with agent.new_session() as session:
        await session.send_text("I am so happy today")
        events = await collect(session, "reply")
    kinds = types(events)
    assert kinds.index("expert_scores") < kinds.index("emotion") < kinds.index("reply_delta") < kinds.index("reply")
    emotion = next(e for e in events if e["type"] == "emotion")
    assert emotion["label"] == "happy"
    assert emotion["weights"] == {"face": 0.0, "voice": 0.0, "text": 1.0}  # text alone drives it
    assert next(e for e in events if e["type"] == "reply")["text"] == "I hear you."
    assert "".join(e["text"] for e in events if e["type"] == "reply_delta") == "I hear you."
    await agent.aclose()


async def test_bad_text_inputs_keep_the_session_going() -> None:
    agent = EmotionAwareAgent(components=fake_components())
    session = agent.new_session()
    await session.start()
    await session.send_text("")
    await session.send_text(b"\xff\xfe bad bytes")
    await session.send_text("x" * 100_000)
    events = await collect(session, "reply")
    errors = [e["message"] for e in events if e["type"] == "error"]
    assert any("empty" in m for m in errors)
    assert any("UTF-8" in m for m in errors)
    assert any("truncated" in m for m in errors)
    await session.send_text("and now a normal line")
    assert "reply" in types(await collect(session, "reply"))
    await agent.aclose()


async def test_crisis_text_escalates_every_time() -> None:
    agent = EmotionAwareAgent(components=fake_components())
    async with agent.new_session() as session:
        for _ in range(3):
            await session.send_text("I want to kill myself")
            events = await collect(session, "reply")
            assert "escalation" in types(events)
            reply = next(e for e in events if e["type"] == "reply")
            assert reply["responder"] == "safety" and "988" in reply["text"]
        assert session.escalations == 3
    await agent.aclose()


async def test_responder_that_raises_or_hangs_falls_back_to_template() -> None:
    for responder in (EchoResponder(fail=True), EchoResponder(delay_s=3.0)):
        comps = fake_components(Settings(reply_first_text_timeout_s=0.5), responder=responder)
        agent = EmotionAwareAgent(components=comps)
        session = agent.new_session()
        await session.start()
        started = time.perf_counter()
        await session.send_text("hello")
        events = await collect(session, "reply")
        reply = next(e for e in events if e["type"] == "reply")
        assert reply["fallback_reason"] and reply["text"]
        assert reply["responder"] == "template"
        expected = "model exploded" if responder.fail else "timed out before its first text"
        assert expected in reply["fallback_reason"]
        assert time.perf_counter() - started < 2.5  # the 0.5 s deadline, not the 3 s hang
        await session.close()
        await agent.aclose()


async def test_unsafe_reply_is_screened() -> None:
    agent = EmotionAwareAgent(components=fake_components(responder=EchoResponder(["It sounds like", " you have depression."])))
    async with agent.new_session() as session:
        await session.send_text("I feel low")
        events = await collect(session, "reply")
    assert any(e["type"] == "escalation" and e["kind"] == "unsafe_reply" for e in events)
    reply = next(e for e in events if e["type"] == "reply")
    assert "depression" not in reply["text"] and reply["fallback_reason"].startswith("unsafe")
    await agent.aclose()


async def test_speech_turn_pairs_voice_face_and_words() -> None:
    comps = fake_components(voice="angry", face="angry")
    agent = EmotionAwareAgent(components=comps)
    session = agent.new_session()
    await session.start()
    face = (np.random.default_rng(0).integers(0, 255, (240, 320, 3))).astype(np.uint8)

    class Detector:
        def detect_largest(self, image: np.ndarray, ts: float) -> Any:
            from emotion_agent.core.events import FaceCrop

            return FaceCrop(image[:48, :48, 0], (0, 0, 48, 48), ts)

    comps.face_detector = Detector()  # type: ignore[assignment]
    audio = np.concatenate([silence(0.5), speechlike(1.2), silence(1.0)])
    pcm48 = (np.repeat(audio, 3) * 32767).astype(np.int16)  # crude 48 kHz, fine for VAD
    for i in range(0, len(pcm48), 960):  # 20 ms chunks as WebRTC sends them
        ts = i / 48_000
        if i % (960 * 5) == 0:
            session.push_video_frame(face, ts)
            await asyncio.sleep(0)
        await session.push_audio(pcm48[i : i + 960], 48_000)
    events = await collect(session, "reply")
    kinds = types(events)
    assert kinds.index("speech") < kinds.index("transcript")
    modalities = {e["modality"] for e in events if e["type"] == "expert_scores"}
    assert modalities == {"face", "voice", "text"}
    emotion = [e for e in events if e["type"] == "emotion" and not e["provisional"]][-1]
    assert emotion["label"] == "angry" and all(w > 0 for w in emotion["weights"].values())
    final = [e for e in events if e["type"] == "transcript" and e["is_final"]]
    assert final and final[0]["text"] == "hello there"
    await session.close()
    await agent.aclose()


async def test_close_is_clean_and_idempotent() -> None:
    agent = EmotionAwareAgent(components=fake_components())
    session = agent.new_session()
    await session.start()
    await session.push_audio(speechlike(0.5), 16_000)  # mid-utterance, then the client vanishes
    await session.close()
    await session.close()
    assert session.closed
    events = [e async for e in session.events()]  # the bus is closed: the backlog, then the iterator ends
    assert types(events).count("summary") == 1 and events[-1]["type"] == "summary"  # one summary, last
    ours = [t for t in asyncio.all_tasks() if t.get_name().startswith(f"session-{session.id}")]
    assert not ours, ours  # all_tasks() lists the unfinished ones: none of the session's is left
    with pytest.raises(RuntimeError, match="closed"):
        await session.send_text("hi")
    await agent.aclose()


async def test_session_limit() -> None:
    agent = EmotionAwareAgent(components=fake_components(), max_sessions=2)
    agent.new_session()
    agent.new_session()
    with pytest.raises(SessionLimitError, match="limit"):
        agent.new_session()
    await agent.aclose()


async def test_customer_service_handoff_after_anger() -> None:
    agent = EmotionAwareAgent(components=fake_components())
    async with agent.new_session(profile="customer_service") as session:
        await session.send_text("I am angry about this order")
        await collect(session, "reply")
        await session.send_text("still angry, nothing works")
        events = await collect(session, "reply")
    assert "handoff" in types(events)
    await agent.aclose()


async def test_mental_health_profile_asks_checkin_and_reports_trend() -> None:
    """The template's replies get the profile's check-in questions (generated replies ask their own)."""
    agent = EmotionAwareAgent(components=fake_components(responder=TemplateResponder()))
    async with agent.new_session(profile="mental_health") as session:
        replies = []
        for line in ["I feel sad", "a bit sad still", "happy now actually"]:
            await session.send_text(line)
            events = await collect(session, "reply")
            replies.append(next(e for e in events if e["type"] == "reply")["text"])
    assert all("?" in r for r in replies)
    assert "trend_report" in types(events)
    summary = session.summary()
    assert summary["turns"] == 3 and summary["profile"] == "mental_health"
    await agent.aclose()


class SharingTranscriber:
    """A ``SharedEncoderTranscriber``: hands 'encoder states' to ``on_encoded`` before it returns,
    like WhisperTranscriber."""

    def __init__(self) -> None:
        self.shared = 0
        self.plain = 0

    def transcribe(self, audio: np.ndarray, *, start: float = 0.0, is_final: bool = True) -> Transcript:
        self.plain += 1
        return Transcript("hello there", is_final, start, start + len(audio) / 16_000)

    def transcribe_sharing_encoder(self, audio: np.ndarray, *, start: float = 0.0,
                                   on_encoded: Callable[[np.ndarray], None]) -> Transcript:
        self.shared += 1
        on_encoded(np.ones((10, 4), dtype=np.float32))
        return Transcript("hello there", True, start, start + len(audio) / 16_000)


class StatesVoiceExpert:
    """Counts which path it was asked through: its own encoder pass or the shared states."""

    modality = "voice"
    embedding_dim = 4

    def __init__(self) -> None:
        self.own_passes = 0
        self.from_states = 0

    def predict(self, window: Any) -> Any:
        self.own_passes += 1
        return self.predict_states(np.ones((10, 4), dtype=np.float32))

    def predict_states(self, states: np.ndarray, quality: float = 1.0, started: float | None = None) -> Any:
        from emotion_agent.core.labels import LABEL_INDEX
        from emotion_agent.fusion.experts.base import make_scores

        self.from_states += 1
        logits = np.zeros(7, dtype=np.float32)
        logits[LABEL_INDEX["sad"]] = 3.0
        return make_scores("voice", logits, np.zeros(4), started or 0.0)


async def speak(session: Session) -> list[dict[str, Any]]:
    audio = np.concatenate([silence(0.5), speechlike(1.2), silence(1.0)])
    for i in range(0, len(audio), 320):
        await session.push_audio(audio[i : i + 320], 16_000)
    return await collect(session, "reply")


@pytest.mark.parametrize("share", [True, False])
async def test_voice_expert_reuses_the_asr_encoder_pass(share: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    comps = fake_components()
    comps.settings = comps.settings.model_copy(update={"share_whisper_encoder": share})
    transcriber, voice = SharingTranscriber(), StatesVoiceExpert()
    comps.transcriber = transcriber
    comps.experts["voice"] = voice  # type: ignore[assignment]
    agent = EmotionAwareAgent(components=comps)
    async with agent.new_session() as session:
        events = await speak(session)
    scores = [e for e in events if e["type"] == "expert_scores" and e["modality"] == "voice"]
    assert scores and scores[0]["label"] == "sad"
    assert isinstance(transcriber, SharedEncoderTranscriber) and isinstance(voice, StatesVoiceExpertProtocol)
    if share:
        assert (transcriber.shared, transcriber.plain, voice.from_states, voice.own_passes) == (1, 0, 1, 0)
    else:
        assert (transcriber.shared, transcriber.plain, voice.own_passes) == (0, 1, 1)
    await agent.aclose()


@pytest.mark.parametrize("pause", [True, False])
async def test_face_detection_pauses_while_a_turn_is_scored(pause: bool) -> None:
    """From the end of an utterance to the reply's first text the cores go to ASR, experts and the
    reply; frames arriving then are skipped (and counted), detection resumes after."""
    comps = fake_components(Settings(video_pause_while_scoring=pause))
    comps.transcriber = FakeTranscriber(delay_s=0.6)  # a slow final pass: a long scoring window
    seen: list[float] = []

    class Detector:
        def detect_largest(self, image: np.ndarray, ts: float) -> Any:
            seen.append(ts)
            return None

    comps.face_detector = Detector()  # type: ignore[assignment]
    agent = EmotionAwareAgent(components=comps)
    session = agent.new_session()
    await session.start()
    events: list[dict[str, Any]] = []

    async def record() -> None:
        async for event in session.events():
            events.append(event)

    recorder = asyncio.create_task(record())
    frame = np.zeros((240, 320, 3), np.uint8)
    audio = np.concatenate([silence(0.3), speechlike(1.0), silence(0.8)])
    pcm48 = (np.repeat(audio, 3) * 32767).astype(np.int16)
    for i in range(0, len(pcm48), 960):
        await session.push_audio(pcm48[i : i + 960], 48_000)
    await asyncio.sleep(0.2)  # the VAD has ended the utterance; its turn is being scored
    ts = 10.0
    deadline = time.perf_counter() + 10.0
    while not any(e["type"] in ("reply_delta", "reply") for e in events):
        assert time.perf_counter() < deadline, f"no reply within 10 s: {types(events)}"
        session.push_video_frame(frame, ts)
        ts += 0.3
        await asyncio.sleep(0.05)
    during = len(seen)
    for _ in range(3):
        session.push_video_frame(frame, ts)
        ts += 0.3
        await asyncio.sleep(0.05)
    metrics = session.metrics()
    if pause:
        assert during == 0 and metrics.video_frames_paused > 0
        assert len(seen) >= 3  # detection resumed once the reply had started
    else:
        assert during > 0 and metrics.video_frames_paused == 0
    await session.close()
    await asyncio.wait_for(recorder, 5)  # closing ends the subscription
    await agent.aclose()


# -- extending a running session ---------------------------------------------------------------------


class TagWords(FrameProcessor):
    """A processor from outside the package: records each turn's words and final transcript, and tags
    every turn with an extra wire event.  It only pushes; it changes no frame and no other processor."""

    name = "tag_words"

    def __init__(self) -> None:
        super().__init__()
        self.finals: list[str] = []
        self.words: list[tuple[int, str, str]] = []

    async def process(self, frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and frame.transcript.is_final:
            self.finals.append(frame.transcript.text)
        elif isinstance(frame, UserWords):  # the tag goes first: the words carry on to the reply
            self.words.append((frame.turn, frame.kind, frame.text))
            await self.push(WireFrame({"type": "tag", "turn": frame.turn, "kind": frame.kind, "text": frame.text}))
        await self.push(frame)


class ProcessedLog:
    """An ``Observer``: which processor handled which kind of frame."""

    def __init__(self) -> None:
        self.processed: list[tuple[str, str]] = []

    def on_processed(self, processor: str, frame: Frame, own_ms: float) -> None:
        self.processed.append((processor, type(frame).__name__))

    def on_output(self, frame: Frame) -> None:
        pass


async def test_a_processor_inserted_into_a_running_session_sees_the_turns() -> None:
    agent = EmotionAwareAgent(components=fake_components(voice="sad"))
    async with agent.new_session() as session:
        assert session.turn is not None  # start() built the chains; the loops are running
        before = [p.name for p in session.turn.processors]
        tagger, log = TagWords(), ProcessedLog()
        session.turn.insert(tagger, after="recognise")
        session.turn.observers.append(log)
        names = [p.name for p in session.turn.processors]
        assert names == [*before[:1], "tag_words", *before[1:]]  # nothing else moved
        assert before[0] == "recognise"

        await session.send_text("I am so happy today")
        typed = await collect(session, "reply")
        spoken = await speak(session)  # VAD → turn → recognise (fake ASR: "hello there") → ...

    assert tagger.words == [(1, "text", "I am so happy today"), (2, "speech", "hello there")]
    assert tagger.finals == ["hello there"]
    assert ("tag_words", "UserWords") in log.processed and ("tag_words", "TurnStarted") in log.processed
    for events, kind, text in ((typed, "text", "I am so happy today"), (spoken, "speech", "hello there")):
        kinds = types(events)
        tag = next(e for e in events if e["type"] == "tag")
        assert tag["kind"] == kind and tag["text"] == text and kinds.count("tag") == 1
        # the tag goes out in order (after recognition, before the reply) and the turn still flows
        fused = next(i for i, e in enumerate(events) if e["type"] == "emotion" and not e["provisional"])
        assert kinds.index("tag") < fused < kinds.index("reply_delta") < kinds.index("reply")
        assert next(e for e in events if e["type"] == "reply")["text"] == "I hear you."
    assert kinds.index("transcript") < kinds.index("tag")
    await agent.aclose()


def test_encoder_states_handed_over_after_the_event_loop_closed_are_dropped_quietly() -> None:
    """The ASR pass hands its encoder states from a worker thread; if the session's loop closed while
    the pass ran (the host went away), the hand-over must not raise into the transcriber."""
    from emotion_agent.agent.executors import BoundedExecutor
    from emotion_agent.agent.processors.recognise import Recognise

    release, finished = threading.Event(), threading.Event()
    outcome: list[object] = []

    class LateTranscriber(SharingTranscriber):
        def transcribe_sharing_encoder(self, audio: np.ndarray, *, start: float = 0.0,
                                       on_encoded: Callable[[np.ndarray], None]) -> Transcript:
            release.wait(10)
            try:
                on_encoded(np.ones((10, 4), dtype=np.float32))
                outcome.append("handed over")
            except Exception as exc:
                outcome.append(exc)
            finished.set()
            return Transcript("hello there", True, start, start + len(audio) / 16_000)

    comps = fake_components()
    comps.transcriber = LateTranscriber()
    comps.experts["voice"] = StatesVoiceExpert()  # type: ignore[assignment]
    executor = BoundedExecutor()
    recognise = Recognise(comps, executor, asr=True, rms_gate=None)
    loop = asyncio.new_event_loop()

    async def start_pass() -> None:
        asr, states = recognise._start_asr(speechlike(1.0), 0.0, voice_present=True)
        assert states is not None  # the shared-encoder path was taken
        await asyncio.sleep(0.05)
        asr.cancel()  # the session goes away; the pass itself runs on in its worker thread
        with contextlib.suppress(asyncio.CancelledError):
            await asr

    try:
        loop.run_until_complete(start_pass())
    finally:
        loop.close()
    release.set()
    assert finished.wait(10)
    executor.shutdown()
    assert outcome == ["handed over"]
