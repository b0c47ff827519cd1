"""The README's LangChain example, run exactly as written: with a fake chat model and with the real
offline model (SmolLM2 through llama.cpp, as a LangChain chat model).

``EXAMPLE`` is the README block; ``test_readme_shows_this_example`` keeps the two identical.  The host
provides ``agent``, ``prompt`` and ``llm`` (the README shows them just above the block).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate

from emotion_agent.agent.components import Components
from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.settings import Settings
from tests.agent_fakes import FakeExpert, MeanFuser
from tests.llm import needs_llm

EXAMPLE = '''\
from emotion_agent.agent.langchain import EmotionContext

emotion = EmotionContext(agent)
chain = emotion.runnable() | prompt | llm
reply = chain.invoke({"input": "My order never arrived and I'm angry!"})
'''

PROMPT = ChatPromptTemplate.from_messages([
    ("system", "You are a helpful support agent. {emotion_context}"),
    ("human", "{input}"),
])


class RecordingFake(GenericFakeChatModel):
    """A langchain_core fake chat model that remembers the messages it was given."""

    seen: ClassVar[list[list[BaseMessage]]] = []

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        RecordingFake.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def keyword_agent() -> EmotionAwareAgent:
    """An agent whose text expert reads the emotion word in the text (no trained weights needed)."""
    return EmotionAwareAgent(components=Components(settings=Settings(), experts={"text": FakeExpert("text")},
                                                   fuser=MeanFuser()))


def run_example(agent: EmotionAwareAgent, llm: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {"agent": agent, "prompt": PROMPT, "llm": llm}
    exec(EXAMPLE, namespace)
    return namespace


def test_example_with_a_fake_chat_model() -> None:
    RecordingFake.seen.clear()
    llm = RecordingFake(messages=iter([AIMessage(content="I'm sorry about your order. Let me fix it.")]))
    ns = run_example(keyword_agent(), llm)
    assert ns["reply"].content == "I'm sorry about your order. Let me fix it."
    system = RecordingFake.seen[-1][0]
    assert isinstance(system, SystemMessage)
    assert "angry" in system.content and "confidence" in system.content, system.content
    assert RecordingFake.seen[-1][1].content == "My order never arrived and I'm angry!"
    state = ns["emotion"].state()
    assert state["emotion"]["label"] == "angry"
    tool = ns["emotion"].tool()
    assert '"label": "angry"' in tool.invoke({})


@needs_llm
def test_example_with_the_real_offline_model() -> None:
    from emotion_agent.responders.langchain import OfflineChatModel

    ns = run_example(keyword_agent(), OfflineChatModel.load())
    reply = ns["reply"]
    assert isinstance(reply, AIMessage) and isinstance(reply.content, str) and reply.content.strip()
    print(f"\noffline model via LangChain: {reply.content!r}")


def test_readme_shows_this_example() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "EmotionContext(agent)" in b]
    assert blocks, "README has no LangChain example (a python block with EmotionContext(agent))"
    assert any(EXAMPLE in block for block in blocks), f"README example differs from EXAMPLE:\n{blocks[0]}"
