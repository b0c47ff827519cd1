"""Frame processors chained into a pipeline, and the observers that watch them.

A ``FrameProcessor`` receives frames in ``process`` and calls ``push`` for every frame that goes on
downstream (the ones it made and, by default, the one it got).  A ``Pipeline`` links processors in
order; what leaves the last one goes to the observers' ``on_output``.  Processors never call each
other directly, so one can be inserted anywhere without editing the others (``Pipeline.insert``).

Observers see each frame a processor handled, with the processor's own time (its downstream time
excluded), and every frame that leaves the pipeline: stage timings come from there, not from timing
calls inside the processors.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from emotion_agent.core.frames import Frame


@runtime_checkable
class Observer(Protocol):
    def on_processed(self, processor: str, frame: Frame, own_ms: float) -> None:
        """``processor`` handled ``frame`` in ``own_ms`` (excluding what it pushed downstream)."""
        ...

    def on_output(self, frame: Frame) -> None:
        """``frame`` left the last processor."""
        ...


def error_text(exc: BaseException | str) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    if isinstance(exc, str):
        return exc
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


class FrameProcessor:
    """Base class: passes every frame through.  Subclasses override ``process``."""

    name = "processor"

    def __init__(self) -> None:
        self._next: FrameProcessor | None = None
        self._pipeline: Pipeline | None = None
        self._downstream_s = 0.0

    async def process(self, frame: Frame) -> None:
        await self.push(frame)

    async def push(self, frame: Frame) -> None:
        started = time.perf_counter()
        try:
            if self._next is not None:
                await self._next.handle(frame)
            elif self._pipeline is not None:
                self._pipeline.output(frame)
        finally:
            self._downstream_s += time.perf_counter() - started

    async def handle(self, frame: Frame) -> None:
        outer, self._downstream_s = self._downstream_s, 0.0
        started = time.perf_counter()
        try:
            await self.process(frame)
        finally:
            own_ms = (time.perf_counter() - started - self._downstream_s) * 1000
            self._downstream_s = outer
            if self._pipeline is not None:
                self._pipeline.processed(self.name, frame, own_ms)

    async def close(self) -> None:
        """Release what the processor holds (tasks, buffers).  Called once by ``Pipeline.close``."""


class Pipeline:
    """Processors linked in order.  ``push`` feeds the first one."""

    def __init__(self, processors: Iterable[FrameProcessor], observers: Sequence[Observer] = ()) -> None:
        self.processors: list[FrameProcessor] = list(processors)
        self.observers: list[Observer] = list(observers)
        self._link()

    def _link(self) -> None:
        for i, proc in enumerate(self.processors):
            if proc._pipeline is not None and proc._pipeline is not self:
                raise ValueError(f"processor {proc.name!r} already belongs to another pipeline")
            proc._pipeline = self
            proc._next = self.processors[i + 1] if i + 1 < len(self.processors) else None

    def insert(self, processor: FrameProcessor, *, after: str | None = None, before: str | None = None) -> None:
        """Add ``processor`` after (or before) the processor of that name; at the end if neither given."""
        names = [p.name for p in self.processors]
        if after is not None:
            index = names.index(after) + 1
        elif before is not None:
            index = names.index(before)
        else:
            index = len(self.processors)
        self.processors.insert(index, processor)
        self._link()

    def get(self, name: str) -> FrameProcessor:
        for proc in self.processors:
            if proc.name == name:
                return proc
        raise KeyError(name)

    async def push(self, frame: Frame) -> None:
        if self.processors:
            await self.processors[0].handle(frame)
        else:
            self.output(frame)

    def output(self, frame: Frame) -> None:
        for obs in self.observers:
            obs.on_output(frame)

    def processed(self, name: str, frame: Frame, own_ms: float) -> None:
        for obs in self.observers:
            obs.on_processed(name, frame, own_ms)

    async def close(self) -> None:
        for proc in self.processors:
            await proc.close()
