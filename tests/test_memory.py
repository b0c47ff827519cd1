"""Allocator tuning (glibc's mmap threshold) for long-running agents."""

from __future__ import annotations

import sys

import pytest

from emotion_agent.core import memory


def test_tune_malloc(monkeypatch: pytest.MonkeyPatch) -> None:
    assert memory.tune_malloc(0) is False
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")  # the user's own setting wins
    assert memory.tune_malloc(128) is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    if not sys.platform.startswith("linux"):
        assert memory.tune_malloc(128) is False
        return
    assert memory.tune_malloc(128) is True
    assert memory.tune_malloc(128) is True  # idempotent
