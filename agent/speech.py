"""The agent's voice in one session: who speaks, whether its audio is playing, and the wire events.

Three ways to speak a reply (``EMOTION_AGENT_TTS``, docs/VOICE.md):

* ``browser`` (default): the page speaks with ``speechSynthesis`` and reports over the data channel
  when it starts and stops (``Session.report_speech``); the server only keeps the state.
* ``server``: the ``Speak`` processor synthesises each sentence with Piper in the bounded executor
  into a ``Playout``; a consumer (the WebRTC track ``web.tts_track``, or ``Session.speech_audio()``)
  reads it in 20 ms frames of 48 kHz PCM at real-time pace.
* a host's own TTS: ``on_speech`` receives each sentence (``SpeechChunk``) and a ``SpeechStop`` when
  the agent must stop; the host reports playback with ``Session.report_speech``.

``SpeechOut`` publishes ``speech_out_started`` / ``speech_out_stopped`` (reason ``done`` or
``interrupted``) whatever the source, and is what barge-in and the echo guard read (``active``) and
call (``interrupt``).  Everything here runs on the session's event loop.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from emotion_agent.agent.metrics import StageTimes
from emotion_agent.core.frames import Frame, SpeechOutStartedFrame, SpeechOutStoppedFrame, SpeechSource
from emotion_agent.perception.audio import float_to_int16, resample
from emotion_agent.responders.prosody import Prosody

TtsMode = Literal["browser", "server", "off"]
PLAYOUT_RATE = 48_000
FRAME_SAMPLES = PLAYOUT_RATE // 50
"""20 ms at 48 kHz: what WebRTC audio tracks carry."""
SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


# -- sentences -------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<!\d)[.!?…]+[\"'”’)\]]*(?=\s|$)|(?<=\d)[.!?…]+[\"'”’)\]]*(?=\s)")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "no."}
MAX_SENTENCE_CHARS = 240
"""A clause this long without an end mark is spoken anyway (cut at the last comma or space)."""


class SentenceChunker:
    """Reply deltas → whole sentences, as soon as each is complete.

    The rule (the page's ``speech.js`` applies the same one): a sentence ends at ``.``, ``!``, ``?`` or
    ``…`` (with any closing quotes or brackets) followed by whitespace or by the end of the text so
    far (not after a digit there: "3." may go on as "3.5"), except after a few abbreviations
    (``Dr.``, ``e.g.``); text running past ``MAX_SENTENCE_CHARS`` is cut at its last comma or space;
    ``flush()`` returns what is left when the reply ends.
    """

    def __init__(self) -> None:
        self.buffer = ""

    def feed(self, text: str) -> list[str]:
        self.buffer += text
        out: list[str] = []
        start = 0
        for match in _SENTENCE_END.finditer(self.buffer):
            words = self.buffer[start : match.end()].split()
            if words and words[-1].lower() in _ABBREVIATIONS:
                continue
            sentence = self.buffer[start : match.end()].strip()
            if sentence:
                out.append(sentence)
            start = match.end()
        self.buffer = self.buffer[start:]
        while len(self.buffer) > MAX_SENTENCE_CHARS:
            head = self.buffer[:MAX_SENTENCE_CHARS]
            cut = max(head.rfind(", "), head.rfind("; "))
            cut = cut + 1 if cut > 0 else head.rfind(" ")
            cut = cut if cut > 0 else MAX_SENTENCE_CHARS
            out.append(self.buffer[:cut].strip())
            self.buffer = self.buffer[cut:]
        return [s for s in out if _speakable(s)]

    def flush(self) -> list[str]:
        rest, self.buffer = self.buffer.strip(), ""
        return [rest] if _speakable(rest) else []


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


# -- what hosts with their own TTS receive -----------------------------------------------------------

@dataclass(frozen=True)
class SpeechChunk:
    """One sentence to speak, with the prosody the table gives for this turn."""

    text: str
    turn: int
    prosody: Prosody
    index: int
    """0 for the reply's first sentence."""


@dataclass(frozen=True)
class SpeechStop:
    """Stop speaking now (barge-in, Stop, speaker off) and drop what is queued."""

    turn: int
    reason: Literal["interrupted"] = "interrupted"


SpeechHook = Callable[[SpeechChunk | SpeechStop], Awaitable[None] | None]


# -- the server's playout buffer ----------------------------------------------------------------------

class Playout:
    """Synthesised speech waiting to be played: 48 kHz int16, read in 20 ms frames.

    ``write`` appends a sentence's PCM for a turn; ``end_reply`` marks that the turn's reply is
    complete.  ``read`` returns the next frame, or None when there is nothing to play (the consumer
    sends silence).  The first frame of a turn calls ``on_started(turn)``; reaching a turn's end mark
    calls ``on_done(turn)``.  ``clear`` drops everything at once (barge-in).
    """

    def __init__(self, on_started: Callable[[int], None], on_done: Callable[[int], None]) -> None:
        self._segments: deque[tuple[int, np.ndarray | None, str]] = deque()
        self._offset = 0
        self.turn: int | None = None
        """The turn being played; None while idle."""
        self.spoken: dict[int, list[str]] = {}
        """Sentences whose audio started playing, per turn (what the user heard)."""
        self.consumers = 0
        self.frames_read = 0
        self._on_started = on_started
        self._on_done = on_done

    @property
    def queued_seconds(self) -> float:
        samples = sum(len(pcm) for _, pcm, _ in self._segments if pcm is not None) - self._offset
        return max(0, samples) / PLAYOUT_RATE

    def write(self, turn: int, audio: np.ndarray, sample_rate: int, text: str = "") -> None:
        """``audio``: float32 mono at ``sample_rate``."""
        pcm = resample(audio.astype(np.float32, copy=False), sample_rate, PLAYOUT_RATE) \
            if sample_rate != PLAYOUT_RATE else audio
        if len(pcm):
            self._segments.append((turn, float_to_int16(pcm), text))

    def end_reply(self, turn: int) -> None:
        self._segments.append((turn, None, ""))

    def read(self) -> np.ndarray | None:
        out: list[np.ndarray] = []
        need = FRAME_SAMPLES
        while need and self._segments:
            turn, pcm, text = self._segments[0]
            if pcm is None:
                if out:  # finish this frame first
                    break
                self._segments.popleft()
                if self.turn == turn:
                    self.turn = None
                    self._on_done(turn)
                continue
            if self.turn != turn:
                if out:
                    break
                if self.turn is not None:
                    self._on_done(self.turn)
                self.turn = turn
                self._on_started(turn)
            if self._offset == 0 and text:
                self.spoken.setdefault(turn, []).append(text)
            piece = pcm[self._offset : self._offset + need]
            out.append(piece)
            need -= len(piece)
            self._offset += len(piece)
            if self._offset >= len(pcm):
                self._segments.popleft()
                self._offset = 0
        if not out:
            return None
        frame = np.concatenate(out)
        self.frames_read += 1
        return frame if len(frame) == FRAME_SAMPLES else np.concatenate([frame, SILENCE[: FRAME_SAMPLES - len(frame)]])

    def clear(self) -> int | None:
        """Drop all queued audio; returns the turn that was playing (None if idle)."""
        playing, self.turn = self.turn, None
        self._segments.clear()
        self._offset = 0
        return playing

    async def frames(self) -> AsyncIterator[np.ndarray]:
        """20 ms frames (silence when idle) at real-time pace, forever: what a WebRTC track sends."""
        self.consumers += 1
        step = FRAME_SAMPLES / PLAYOUT_RATE
        t0, n = time.monotonic(), 0
        try:
            while True:
                delay = t0 + n * step - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.2:  # fell far behind (a stalled loop): resume pacing, don't burst
                    t0, n = time.monotonic(), 0
                n += 1
                frame = self.read()
                yield SILENCE if frame is None else frame
        finally:
            self.consumers -= 1


# -- the session's voice -----------------------------------------------------------------------------

class SpeechOut:
    """State and events of one session's spoken output (see the module docstring)."""

    def __init__(self, mode: TtsMode, publish: Callable[[Frame], None], hook: SpeechHook | None = None,
                 stage_times: StageTimes | None = None) -> None:
        self.mode = mode
        self.hook = hook if mode != "off" else None
        self.source: SpeechSource = "host" if self.hook else ("server" if mode == "server" else "browser")
        self.enabled = mode != "off"
        """Speaker on.  The page turns it off for typed chat; the server then synthesises nothing."""
        self._publish = publish
        self.stage_times = stage_times
        self.playout = Playout(self._playout_started, self._playout_done) \
            if mode == "server" and self.hook is None else None
        self.speaking: SpeechSource | None = None
        self.turn = 0
        self.started_t: float | None = None
        self.stopped_t: float | None = None
        self.prosody: dict[int, Prosody] = {}
        """The prosody chosen for each turn's reply (set by ``Speak``)."""
        self.turn_ready: dict[int, tuple[str, float]] = {}
        """(eou|text, t_ready) per turn, for the ``…_to_first_audio`` stage time."""
        self.first_text: dict[int, float] = {}
        """When each turn's first reply text went out, for ``first_text_to_first_audio``."""
        self._stop_listeners: list[Callable[[], None]] = []
        self.barge_ins = 0
        self.echo_ignored = 0
        self.interrupted_turns: set[int] = set()

    @property
    def server_speaks(self) -> bool:
        """The ``Speak`` processor synthesises (server TTS) or hands sentences to the host's hook."""
        return self.enabled and (self.playout is not None or self.hook is not None)

    def on_stop(self, listener: Callable[[], None]) -> None:
        """``listener()`` runs when speech is interrupted (drop queued sentences)."""
        self._stop_listeners.append(listener)

    def active(self, tail_s: float = 0.0) -> bool:
        """The agent's audio is playing, or stopped less than ``tail_s`` ago."""
        if self.speaking is not None:
            return True
        return self.stopped_t is not None and time.monotonic() - self.stopped_t < tail_s

    # -- reports (playout, page, host) ---------------------------------------------------------

    def started(self, turn: int, source: SpeechSource, prosody: dict[str, float] | None = None) -> None:
        if self.speaking is not None and self.turn == turn:
            return
        if self.speaking is not None:
            self.stopped(self.turn, self.speaking, "done")
        self.speaking, self.turn, self.started_t = source, turn, time.monotonic()
        if prosody is None and turn in self.prosody:
            prosody = self.prosody[turn].as_dict()
        ready = self.turn_ready.pop(turn, None)
        first_text = self.first_text.pop(turn, None)
        if self.stage_times is not None:
            if ready is not None:
                self.stage_times.add(f"{ready[0]}_to_first_audio", (self.started_t - ready[1]) * 1000)
            if first_text is not None:
                self.stage_times.add("first_text_to_first_audio", (self.started_t - first_text) * 1000)
        self._publish(SpeechOutStartedFrame(turn, source, prosody, t=self.started_t))

    def stopped(self, turn: int, source: SpeechSource, reason: Literal["done", "interrupted"],
                barge_in_ms: float | None = None) -> bool:
        """Returns False (and publishes nothing) when that voice was not speaking."""
        if self.speaking is None or (turn and turn != self.turn):
            return False
        self.speaking, self.stopped_t = None, time.monotonic()
        if reason == "interrupted":
            self.interrupted_turns.add(self.turn)
        self._publish(SpeechOutStoppedFrame(self.turn, source, reason, barge_in_ms, t=self.stopped_t))
        return True

    def _playout_started(self, turn: int) -> None:
        self.started(turn, "server")

    def _playout_done(self, turn: int) -> None:
        self.stopped(turn, "server", "done")

    # -- stopping ------------------------------------------------------------------------------

    def interrupt(self, trigger_t: float | None = None) -> bool:
        """Stop speaking now, wherever the voice is: clear the playout, tell the host's hook, drop
        queued sentences, publish ``speech_out_stopped`` (interrupted; the page cancels its speech on
        it).  ``trigger_t``: the speech-start that caused it (for ``barge_in_ms``).  Returns whether
        anything was speaking."""
        for listener in self._stop_listeners:
            listener()
        if self.playout is not None:
            self.playout.clear()
        source = self.speaking
        if source is None:
            return False
        turn = self.turn
        if self.hook is not None:
            result = self.hook(SpeechStop(turn))
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
        barge_in_ms = None if trigger_t is None else (time.monotonic() - trigger_t) * 1000
        return self.stopped(turn, source, "interrupted", barge_in_ms)

    def spoken_text(self, turn: int) -> str | None:
        """What the server's voice said of ``turn`` before it stopped (None when unknown)."""
        if self.playout is None or turn not in self.playout.spoken:
            return None
        return " ".join(self.playout.spoken[turn])
