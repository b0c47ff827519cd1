"""Where CPU-bound work runs: a shared thread pool with bounded admission.

Model calls release the GIL (torch, CTranslate2, OpenCV), so threads give real parallelism on the
two cores while the event loop stays free.  ``run`` waits for a slot (audio turns: never dropped);
``try_run`` gives up at once when the pool is saturated (video frames: drop, keep the newest).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Saturated(RuntimeError):
    """``try_run`` found no free slot."""


class BoundedExecutor:
    def __init__(self, max_workers: int = 2, max_pending: int = 8, name: str = "emotion-agent") -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)
        self._max_pending = max_pending
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self.pending = 0
        self.rejected = 0

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._semaphores.get(loop)
        if sem is None:
            sem = self._semaphores[loop] = asyncio.Semaphore(self._max_pending)
        return sem

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` in the pool, waiting for an admission slot if all are taken."""
        async with self._semaphore():
            return await self._submit(fn, *args, **kwargs)

    async def try_run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` only if a slot is free now; else raise ``Saturated``."""
        sem = self._semaphore()
        if sem.locked():
            self.rejected += 1
            raise Saturated("executor saturated")
        async with sem:
            return await self._submit(fn, *args, **kwargs)

    async def _submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        self.pending += 1
        try:
            return await loop.run_in_executor(self._pool, call)
        finally:
            self.pending -= 1

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
