"""The one loader for an expert by modality: a local path, a package (``pkg:``) or a hub id, or None
for the committed weights (each expert's own ``load`` resolves the spec)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotion_agent.core.events import Modality
from emotion_agent.core.protocols import Expert


def load_expert(modality: Modality | str, spec: str | Path | None = None) -> Expert[Any]:
    if modality == "text":
        from emotion_agent.fusion.experts.text import TextExpert

        return TextExpert.load(spec)
    if modality == "voice":
        from emotion_agent.fusion.experts.voice import VoiceExpert

        return VoiceExpert.load(spec)
    if modality == "face":
        from emotion_agent.fusion.experts.face import FaceExpert

        return FaceExpert.load(spec)
    raise ValueError(f"unknown modality {modality!r}; choose face, voice or text")
