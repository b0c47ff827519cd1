"""Reply generation.

* ``prompting``: one place that turns (history, emotion estimate, mood trend, host text) into a
  chat system prompt or a control prefix.
* ``template.TemplateResponder``: deterministic fallback.
* ``llm.LlamaCppResponder``: offline default (SmolLM2-135M-Instruct GGUF through llama.cpp).
* ``hf.DialoGPTResponder`` / ``hf.T5Responder``: transformers generators from a hub id or path.
* ``langchain.LangChainResponder``: any LangChain chat model.
* ``registry.load_responder``: builds the configured responder from settings.

Heavy imports (torch, llama_cpp, langchain) happen inside the submodules only.
"""

from emotion_agent.responders.base import ResponderError, respond

__all__ = ["ResponderError", "respond"]
