"""Reply text → spoken sentences (server TTS or the host's ``on_speech`` hook).

Sits after ``respond`` in the turn chain.  Every frame goes on downstream first, so reply text is
never held back by speech.  It chooses each turn's prosody from the fused emotion and the profile
(``responders.prosody``), cuts ``ReplyDeltaFrame`` text into sentences as they complete
(``SentenceChunker``) and queues them for one worker task, which synthesises each sentence in the
bounded executor and appends it to the session's ``Playout`` (or hands it to the host's hook).  An
interruption drops the queue; an interrupted reply's unsaid rest is never synthesised.  With the
page speaking (``browser``) or speech ``off``, it only records the prosody and the turn's start
time (for ``eou_to_first_audio``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emotion_agent.agent.executors import BoundedExecutor
from emotion_agent.agent.pipeline import FrameProcessor, error_text
from emotion_agent.agent.processors.conversation import Conversation
from emotion_agent.agent.speech import PLAYOUT_RATE, SentenceChunker, SpeechChunk, SpeechOut
from emotion_agent.core.frames import (
    EmotionFrame,
    ErrorFrame,
    Frame,
    Interrupt,
    ReplyDeltaFrame,
    ReplyFrame,
    TurnStarted,
)
from emotion_agent.perception.audio import resample
from emotion_agent.responders.prosody import Prosody, prosody_for
from emotion_agent.responders.voice import SpeechSynthesizer


@dataclass(frozen=True)
class _Say:
    generation: int
    turn: int
    text: str | None
    """None: the end of the turn's reply."""
    prosody: Prosody
    index: int = 0


class Speak(FrameProcessor):
    name = "speak"

    def __init__(self, speech: SpeechOut, conversation: Conversation, executor: BoundedExecutor,
                 load_voice: Callable[[], SpeechSynthesizer] | None = None) -> None:
        super().__init__()
        self.speech = speech
        self.conversation = conversation
        self.executor = executor
        self.load_voice = load_voice
        self._voice: SpeechSynthesizer | None = None
        self._chunkers: dict[int, SentenceChunker] = {}
        self._sentences: dict[int, int] = {}
        self._queue: asyncio.Queue[_Say] = asyncio.Queue()
        self._generation = 0
        self._worker: asyncio.Task[None] | None = None
        self._failed = False
        self._latest_turn = 0
        self._cut_up_to = 0
        """Deltas of turns up to this one came after an interruption: never spoken."""
        speech.on_stop(self._drop)

    def prosody(self, turn: int) -> Prosody:
        chosen = self.speech.prosody.get(turn)
        return chosen if chosen is not None else prosody_for(None, self.conversation.profile.name)

    async def process(self, frame: Frame) -> None:
        await self.push(frame)
        speech = self.speech
        if isinstance(frame, TurnStarted):
            self._latest_turn = max(self._latest_turn, frame.turn)
            speech.turn_ready[frame.turn] = ("eou" if frame.kind == "speech" else "text", frame.t_ready)
            for old in [t for t in speech.turn_ready if t < frame.turn - 8]:
                del speech.turn_ready[old]
        elif isinstance(frame, EmotionFrame) and not frame.provisional:
            e = frame.estimate
            speech.prosody[frame.turn] = prosody_for(e.label, self.conversation.profile.name, e.uncertain)
            for old in [t for t in speech.prosody if t < frame.turn - 8]:
                del speech.prosody[old]
        elif isinstance(frame, Interrupt):
            self._drop()
        elif isinstance(frame, ReplyDeltaFrame):
            speech.first_text.setdefault(frame.turn, time.monotonic())
            for old in [t for t in speech.first_text if t < frame.turn - 8]:
                del speech.first_text[old]
            if speech.server_speaks and not self._failed and frame.turn > self._cut_up_to:
                chunker = self._chunkers.setdefault(frame.turn, SentenceChunker())
                for sentence in chunker.feed(frame.text):
                    self._say(frame.turn, sentence)
        elif isinstance(frame, ReplyFrame):
            pending: SentenceChunker | None = self._chunkers.pop(frame.turn, None)
            said = self._sentences.pop(frame.turn, 0)
            if frame.interrupted or not speech.server_speaks or self._failed or frame.turn <= self._cut_up_to:
                return
            rest: list[str] = []
            if pending is None:  # no deltas came (they always do today): the whole reply
                pending = SentenceChunker()
                rest = pending.feed(frame.text)
            self._sentences[frame.turn] = said
            for sentence in rest + pending.flush():
                self._say(frame.turn, sentence)
            if self._sentences.pop(frame.turn, 0):
                self._enqueue(_Say(self._generation, frame.turn, None, self.prosody(frame.turn)))

    def _say(self, turn: int, sentence: str) -> None:
        index = self._sentences.get(turn, 0)
        self._sentences[turn] = index + 1
        self._enqueue(_Say(self._generation, turn, sentence, self.prosody(turn), index))

    def _enqueue(self, item: _Say) -> None:
        self._queue.put_nowait(item)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="speak-worker")

    def _drop(self) -> None:
        """Barge-in or Stop: forget queued sentences and partial ones (the synthesis running now is
        discarded when it returns)."""
        self._generation += 1
        self._cut_up_to = self._latest_turn
        self._chunkers.clear()
        self._sentences.clear()
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _work(self) -> None:
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item.generation != self._generation:
                continue
            try:
                await self._speak(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken voice must not take the session down: text goes on
                self._failed = True
                self._drop()
                await self.push(ErrorFrame(f"server speech stopped: {error_text(exc)}", "tts", exc))
                return

    async def _speak(self, item: _Say) -> None:
        speech = self.speech
        if speech.hook is not None:
            if item.text is not None:
                result = speech.hook(SpeechChunk(item.text, item.turn, item.prosody, item.index))
                if asyncio.iscoroutine(result):
                    await result
            return
        playout = speech.playout
        assert playout is not None
        if item.text is None:
            playout.end_reply(item.turn)
            return
        if self._voice is None:
            if self.load_voice is None:
                raise RuntimeError("server TTS has no voice")
            self._voice = await self.executor.run(self.load_voice)
        started = time.perf_counter()
        audio = await self.executor.run(_synthesize, self._voice, item.text, item.prosody)
        if speech.stage_times is not None and len(audio):
            took = time.perf_counter() - started
            speech.stage_times.add("tts", took * 1000)
            speech.stage_times.add("tts_rtf", took / (len(audio) / PLAYOUT_RATE))
        if item.generation == self._generation and speech.enabled:
            playout.write(item.turn, audio, PLAYOUT_RATE, item.text)

    async def close(self) -> None:
        self._drop()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker


def _synthesize(voice: SpeechSynthesizer, text: str, prosody: Prosody) -> np.ndarray:
    """In the executor: synthesis and the resampling to the track's 48 kHz."""
    audio = voice.synthesize(text, prosody)
    return resample(audio, voice.sample_rate, PLAYOUT_RATE)
