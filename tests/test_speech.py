"""Spoken replies without models: the prosody table, sentence chunking, the playout, server TTS with
a tone "voice", the host hook, the page's reports, barge-in and the echo guard (agent.speech,
agent.processors.speak, agent.processors.barge_in; docs/VOICE.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.agent.processors.barge_in import BargeIn
from emotion_agent.agent.session import Session
from emotion_agent.agent.speech import FRAME_SAMPLES, Playout, SentenceChunker, SpeechChunk, SpeechStop
from emotion_agent.agent.wire import SpeechOutStartedMsg, SpeechOutStoppedMsg
from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.labels import LABELS
from emotion_agent.core.protocols import Turn
from emotion_agent.core.settings import PROJECT_ROOT, Settings
from emotion_agent.responders import prosody as P
from tests.agent_fakes import EchoResponder, fake_components
from tests.conftest import silence, speechlike

# -- the prosody table ------------------------------------------------------------------------------


def test_prosody_table_shapes_the_voice_to_the_listener() -> None:
    neutral = P.prosody_for("neutral")
    sad, fearful, angry, happy = (P.prosody_for(x) for x in ("sad", "fearful", "angry", "happy"))
    for calm in (sad, fearful):  # slower and softer to a sad or fearful user
        assert calm.rate < neutral.rate and calm.volume < neutral.volume and calm.length_scale > 1
    assert angry.rate < 1 and angry.noise_scale < neutral.noise_scale and angry.noise_w_scale < neutral.noise_w_scale
    assert happy.rate > 1 and happy.pitch > 1 and happy.length_scale < 1  # brighter
    assert P.prosody_for("sad", uncertain=True) == neutral == P.prosody_for(None)
    gentle = P.prosody_for("sad", "mental_health")
    assert gentle.rate < sad.rate and gentle.volume < sad.volume
    for profile, rows in P.table().items():
        assert set(rows) == set(LABELS), profile
        for label, row in rows.items():
            # Piper's length scale tracks the browser's rate (≈ 1 / rate) so both voices agree.
            assert abs(row["length_scale"] * row["rate"] - 1) < 0.06, (profile, label, row)
            for key, (lo, hi) in P.LIMITS.items():
                assert lo <= row[key] <= hi


def test_voice_doc_shows_the_table_from_the_code() -> None:
    doc = (PROJECT_ROOT / "docs" / "VOICE.md").read_text()
    assert P.markdown_table() in doc, "docs/VOICE.md is out of date: paste responders.prosody.markdown_table()"
    assert P.markdown_profiles() in doc


# -- sentences and the playout ------------------------------------------------------------------------


def test_sentence_chunker_speaks_each_sentence_as_soon_as_it_is_complete() -> None:
    c = SentenceChunker()
    assert c.feed("Hello there") == []
    assert c.feed(". I met Dr. Smith") == ["Hello there."]
    assert c.feed(" today! It costs 3.5 euros") == ["I met Dr. Smith today!"]
    assert c.feed("… really?\" Yes, 3.") == ["It costs 3.5 euros…", "really?\""]  # "3." may go on
    assert c.feed("") == [] and c.feed("5 kg. And") == ["Yes, 3.5 kg."]
    assert c.flush() == ["And"]
    assert c.flush() == [] and SentenceChunker().feed("... ") == []
    long = SentenceChunker().feed("word, " * 60)
    assert long and all(len(s) <= 240 for s in long)


def test_playout_frames_callbacks_and_clear() -> None:
    log: list[tuple[str, int]] = []
    playout = Playout(lambda t: log.append(("start", t)), lambda t: log.append(("done", t)))
    assert playout.read() is None
    playout.write(1, np.full(1500, 0.5, np.float32), 48_000, "One.")
    playout.end_reply(1)
    frames = [playout.read() for _ in range(3)]
    assert frames[0] is not None and frames[0].shape == (FRAME_SAMPLES,) and frames[0][0] > 10_000
    assert frames[1] is not None and frames[1][539] > 0 and frames[1][540] == 0  # padded with silence
    assert frames[2] is None and log == [("start", 1), ("done", 1)]
    assert playout.spoken == {1: ["One."]}
    playout.write(2, np.ones(16_000, np.float32) * 0.1, 16_000)  # resampled to 48 kHz
    assert playout.queued_seconds == pytest.approx(1.0, abs=0.01)
    assert playout.read() is not None and playout.turn == 2
    assert playout.clear() == 2 and playout.read() is None and playout.turn is None


# -- sessions ------------------------------------------------------------------------------------------


class ToneVoice:
    """A stand-in for Piper: a 220 Hz tone, 60 ms per character times the length scale."""

    name = "tone"
    sample_rate = 16_000

    def __init__(self, ms_per_char: float = 60.0) -> None:
        self.ms_per_char = ms_per_char
        self.calls: list[tuple[str, P.Prosody]] = []

    def synthesize(self, text: str, prosody: P.Prosody) -> np.ndarray:
        self.calls.append((text, prosody))
        n = int(len(text) * self.ms_per_char / 1000 * prosody.length_scale * self.sample_rate)
        return (0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / self.sample_rate)).astype(np.float32)


class ContextResponder(EchoResponder):
    """Streams ``words`` with a delay; records each call's context."""

    def __init__(self, words: Sequence[str], delay_s: float = 0.0) -> None:
        super().__init__(words, delay_s)
        self.contexts: list[dict[str, Any]] = []
        self.yielded = 0

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        self.contexts.append(dict(context or {}))
        for word in self.words:
            time.sleep(self.delay_s)
            self.yielded += 1
            yield word


class Events:
    """Collects a session's wire events in the background."""

    def __init__(self, session: Session) -> None:
        self.items: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._run(session))

    async def _run(self, session: Session) -> None:
        async for event in session.events():
            self.items.append(event)

    def of(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in self.items if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())]

    async def wait(self, kind: str, within: float = 10.0, count: int = 1, **fields: Any) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while len(self.of(kind, **fields)) < count:
            assert time.monotonic() < deadline, f"no {kind} {fields}; got {[e['type'] for e in self.items]}"
            await asyncio.sleep(0.01)
        return self.of(kind, **fields)[count - 1]


async def listen(session: Session, sink: list[np.ndarray]) -> None:
    async for frame in session.speech_audio():
        sink.append(frame)


def server_session(responder: Any, voice: ToneVoice, settings: Settings | None = None,
                   **labels: str) -> tuple[EmotionAwareAgent, Session]:
    comps = fake_components(settings or Settings(tts="server"), responder=responder, **labels)
    comps.voice = voice
    agent = EmotionAwareAgent(components=comps)
    return agent, agent.new_session()


async def test_server_tts_speaks_each_sentence_with_the_turns_prosody() -> None:
    voice = ToneVoice(ms_per_char=10)
    agent, session = server_session(EchoResponder(["I am sorry.", " That sounds hard", ". Tell me more?"]), voice)
    await session.start()
    events = Events(session)
    heard: list[np.ndarray] = []
    listener = asyncio.create_task(listen(session, heard))
    await session.send_text("I feel so sad today")
    started = await events.wait("speech_out_started")
    stopped = await events.wait("speech_out_stopped")
    sad = P.prosody_for("sad").as_dict()
    assert started["source"] == "server" and started["prosody"] == sad and started["turn"] == 1
    assert stopped["reason"] == "done" and stopped["turn"] == 1 and stopped["barge_in_ms"] is None
    SpeechOutStartedMsg.model_validate(started)
    SpeechOutStoppedMsg.model_validate(stopped)
    assert [text for text, _ in voice.calls] == ["I am sorry.", "That sounds hard.", "Tell me more?"]
    assert all(p == P.prosody_for("sad") for _, p in voice.calls)
    voiced = sum(int(np.abs(f).max() > 1000) for f in heard)
    expected_s = sum(len(t) for t, _ in voice.calls) * 0.010 * P.prosody_for("sad").length_scale
    assert voiced * 0.02 == pytest.approx(expected_s, abs=0.1)
    kinds = [e["type"] for e in events.items]
    assert kinds.index("reply_delta") < kinds.index("speech_out_started")
    assert "text_to_first_audio" in agent.stage_times.summary()
    listener.cancel()
    await session.close()
    await agent.aclose()


async def test_browser_and_off_modes_synthesise_nothing_and_page_reports_become_events() -> None:
    voice = ToneVoice()
    for mode in ("browser", "off"):
        agent, session = server_session(EchoResponder(), voice, Settings(tts=mode))
        await session.start()
        events = Events(session)
        await session.send_text("hello")
        await events.wait("reply")
        assert session.speech.playout is None and voice.calls == []
        with pytest.raises(RuntimeError, match="no server voice"):
            session.speech_audio()
        await session.report_speech("started", turn=1, prosody={"rate": 1.0, "pitch": 1.0, "volume": 0.9})
        await session.report_speech("stopped", turn=1, reason="done")
        started = await events.wait("speech_out_started")
        assert started["source"] == "browser" and started["prosody"]["rate"] == 1.0
        assert (await events.wait("speech_out_stopped"))["reason"] == "done"
        await session.close()
        await agent.aclose()


async def test_host_tts_hook_gets_sentences_and_the_stop() -> None:
    got: list[SpeechChunk | SpeechStop] = []

    async def on_speech(item: SpeechChunk | SpeechStop) -> None:
        got.append(item)

    comps = fake_components(responder=EchoResponder(["Hi there.", " How are you?"]))
    agent = EmotionAwareAgent(components=comps)
    session = agent.new_session(on_speech=on_speech)
    await session.start()
    events = Events(session)
    await session.send_text("I am so happy")
    await events.wait("reply")
    await asyncio.sleep(0.05)
    chunks = [g for g in got if isinstance(g, SpeechChunk)]
    assert [c.text for c in chunks] == ["Hi there.", "How are you?"] and [c.index for c in chunks] == [0, 1]
    assert chunks[0].prosody == P.prosody_for("happy")
    await session.report_speech("started", turn=1)
    assert (await events.wait("speech_out_started"))["source"] == "host"
    await session.report_speech("stopped", turn=1, reason="interrupted")  # e.g. the host's own Stop
    await asyncio.sleep(0.01)  # an async hook's stop runs as a task
    assert isinstance(got[-1], SpeechStop) and got[-1].turn == 1
    assert (await events.wait("speech_out_stopped"))["reason"] == "interrupted"
    assert session.history[-1].interrupted
    await session.close()
    await agent.aclose()


async def push_realtime(session: Session, audio: np.ndarray, speed: float = 4.0) -> None:
    for i in range(0, len(audio), 320):
        await session.push_audio(audio[i : i + 320], 16_000)
        await asyncio.sleep(0.02 / speed)


async def drained(session: Session, within: float = 5.0) -> None:
    """Wait until the session's VAD has seen all the audio pushed so far."""
    deadline = time.monotonic() + within
    while session.audio_seconds_done < session.audio_seconds_in - 1e-6:
        assert time.monotonic() < deadline, "audio not processed"
        await asyncio.sleep(0.01)


async def test_barge_in_stops_the_voice_cancels_generation_and_marks_the_reply() -> None:
    words = ["I hear you.", *[f" word{i}" for i in range(40)], "."]
    responder = ContextResponder(words, delay_s=0.05)
    voice = ToneVoice(ms_per_char=80)
    agent, session = server_session(responder, voice)
    await session.start()
    events = Events(session)
    heard: list[np.ndarray] = []
    listener = asyncio.create_task(listen(session, heard))
    await session.send_text("I am angry about this")
    await events.wait("speech_out_started")
    await push_realtime(session, np.concatenate([silence(0.3), speechlike(0.8, amp=0.3)]))
    stopped = await events.wait("speech_out_stopped")
    assert stopped["reason"] == "interrupted" and stopped["source"] == "server"
    assert stopped["barge_in_ms"] is not None and stopped["barge_in_ms"] < 200
    reply = await events.wait("reply")
    assert reply["interrupted"] is True and responder.yielded < len(words)  # the rest was never generated
    assert session.speech.playout is not None and session.speech.playout.turn is None
    n = len(heard)
    await asyncio.sleep(0.2)
    assert all(np.abs(f).max() == 0 for f in heard[n:])  # the track went silent at once
    assert session.history[1].role == "assistant" and session.history[1].interrupted
    # The barge-in utterance is a normal turn, and its reply knows the previous one was cut.
    await push_realtime(session, silence(0.8))
    await events.wait("reply", turn=2)
    assert responder.contexts[-1]["interrupted"] is True
    listener.cancel()
    await session.close()
    await agent.aclose()


async def test_barge_in_after_generation_marks_the_complete_reply_with_what_was_said() -> None:
    responder = ContextResponder(["First sentence here.", " Second sentence is long enough to still play."])
    agent, session = server_session(responder, ToneVoice(ms_per_char=80))
    await session.start()
    events = Events(session)
    listener = asyncio.create_task(listen(session, []))
    await session.send_text("hello")
    await events.wait("reply")
    await events.wait("speech_out_started")
    await asyncio.sleep(0.3)
    await push_realtime(session, np.concatenate([silence(0.3), speechlike(0.6, amp=0.3)]))
    assert (await events.wait("speech_out_stopped"))["reason"] == "interrupted"
    assert session.history[1].interrupted and session.history[1].text == "First sentence here."
    listener.cancel()
    await session.close()
    await agent.aclose()


async def test_echo_guard_ignores_quiet_speech_starts_while_the_agent_talks() -> None:
    settings = Settings(tts="server", barge_in_min_dbfs=-25.0)
    agent, session = server_session(EchoResponder(["A long enough reply to keep talking for a while."]),
                                    ToneVoice(ms_per_char=100), settings)
    await session.start()
    events = Events(session)
    listener = asyncio.create_task(listen(session, []))
    await session.send_text("hello")
    await events.wait("speech_out_started")
    # The agent's own voice leaking back (about -34 dBFS, under the -25 set here): not the user.
    await push_realtime(session, np.concatenate([silence(0.3), speechlike(0.8, amp=0.05), silence(0.8)]))
    await drained(session)
    guard = session.audio.get("barge_in") if session.audio else None
    assert isinstance(guard, BargeIn) and guard.decisions and guard.decisions[-1]["barge_in"] is False
    assert session.speech.echo_ignored == 1 and session.speech.speaking == "server"
    assert not events.of("speech") and not events.of("speech_out_stopped")  # never seen as user speech
    assert session.turns == 1  # and never transcribed as a turn
    # The user, louder: a barge-in.
    await push_realtime(session, np.concatenate([speechlike(0.6, amp=0.3), silence(0.2)]))
    await drained(session)
    assert (await events.wait("speech_out_stopped"))["reason"] == "interrupted"
    assert guard.decisions[-1]["barge_in"] is True
    listener.cancel()
    await session.close()
    await agent.aclose()


async def test_page_barge_in_and_speaker_toggle_in_browser_mode() -> None:
    agent, session = server_session(EchoResponder(["Okay."]), ToneVoice(), Settings(tts="browser"))
    await session.start()
    events = Events(session)
    await session.send_text("hello")
    await events.wait("reply")
    await session.report_speech("started", turn=1, prosody=P.prosody_for("neutral").as_dict())
    await push_realtime(session, np.concatenate([silence(0.3), speechlike(0.6, amp=0.3)]))
    stopped = await events.wait("speech_out_stopped")
    assert stopped["source"] == "browser" and stopped["reason"] == "interrupted"  # the page cancels on it
    assert session.history[1].interrupted
    await session.report_speech("stopped", turn=1, reason="done")  # the page's late report: ignored
    await session.report_speech("started", turn=1)
    await events.wait("speech_out_started", count=2)
    await session.set_speaker(False)  # speaker off while talking = stop
    await events.wait("speech_out_stopped", count=2, reason="interrupted")
    assert not events.of("speech_out_stopped", reason="done")
    assert session.speech.enabled is False
    await session.close()
    await agent.aclose()


def test_missing_piper_is_a_clear_error(tmp_path: Path) -> None:
    from emotion_agent.core.models import ModelNotFoundError
    from emotion_agent.responders.voice import load_voice

    with pytest.raises(ModelNotFoundError, match="not installed"):
        load_voice("pkg:no_such_voice_package")
    with pytest.raises(ModelNotFoundError, match="not found"):
        load_voice(str(tmp_path / "missing.onnx"))


async def test_a_broken_voice_reports_once_and_text_goes_on() -> None:
    class Broken(ToneVoice):
        def synthesize(self, text: str, prosody: P.Prosody) -> np.ndarray:
            raise RuntimeError("onnx exploded")

    agent, session = server_session(EchoResponder(["One.", " Two."]), Broken())
    await session.start()
    events = Events(session)
    await session.send_text("hi")
    await events.wait("reply")
    error = await events.wait("error", where="tts")
    assert "onnx exploded" in error["message"]
    await session.send_text("again")
    await events.wait("reply", turn=2)
    assert len(events.of("error", where="tts")) == 1
    await session.close()
    await agent.aclose()
