"""One entry point for every fuser: ``load_fuser(name, spec, settings)``.

``spec`` is the folder holding ``<name>.pt`` (or the file itself); default ``settings.fuser_weights``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from emotion_agent.fusion.fusers.base import BaseFuser

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from emotion_agent.core.protocols import Fuser
    from emotion_agent.core.settings import Settings

FUSER_NAMES: tuple[str, ...] = ("attention", "average", "max_confidence", "concat", "transformer")
LEARNED: tuple[str, ...] = ("attention", "concat", "transformer")
FALLBACK = "average"
"""Used in place of the default fuser when its weights are missing (see ``load_fuser``)."""


def fuser_class(name: str) -> type[BaseFuser]:
    """The class for ``name``; ``ValueError`` for an unknown name."""
    if name == "attention":
        from emotion_agent.fusion.fusers.attention import AttentionFuser

        return AttentionFuser
    if name == "average":
        from emotion_agent.fusion.fusers.average import AverageFuser

        return AverageFuser
    if name == "max_confidence":
        from emotion_agent.fusion.fusers.max_confidence import MaxConfidenceFuser

        return MaxConfidenceFuser
    if name == "concat":
        from emotion_agent.fusion.fusers.concat import ConcatFuser

        return ConcatFuser
    if name == "transformer":
        from emotion_agent.fusion.fusers.transformer import TransformerFuser

        return TransformerFuser
    raise ValueError(f"unknown fuser {name!r}; choose one of {', '.join(FUSER_NAMES)}")


def load_fuser(name: str, spec: str | Path | None = None, settings: Settings | None = None) -> Fuser:
    """A ready fuser.  Learned fusers raise ``ModelNotFoundError`` when their checkpoint is missing
    (train them with ``emotion-agent train fusion``); ``average``/``max_confidence`` need no file and
    pick up a fitted temperature when ``<name>.pt`` exists.

    One exception keeps a fresh checkout usable: when ``name`` is the *default* fuser (nobody set
    ``settings.fusion`` or passed ``spec``) and its weights are missing, the calibrated-if-available
    ``average`` fuser is returned instead, with a logged warning and a note in every explanation.
    A fuser chosen explicitly (``--fusion``, ``EMOTION_AGENT_FUSION``) never falls back, nor does a
    checkpoint that exists but does not load."""
    from emotion_agent.core.models import ModelNotFoundError

    if settings is None:
        from emotion_agent.core.settings import get_settings

        settings = get_settings()
    cls = fuser_class(name)
    folder = spec if spec is not None else settings.fuser_weights
    try:
        fuser: Fuser = cls.load(folder, uncertain_below=settings.uncertain_below)
    except ModelNotFoundError as exc:
        implicit = spec is None and name == settings.fusion and "fusion" not in settings.model_fields_set
        if not implicit or name not in LEARNED or _exists(folder, name):  # a broken file is an error
            raise ModelNotFoundError(
                f"{exc}; train the fusers with `emotion-agent train fusion`, or choose `--fusion average`"
            ) from exc
        log.warning("%s fuser weights missing (%s); using the average fuser instead", name, exc)
        fallback = fuser_class(FALLBACK).load(folder, uncertain_below=settings.uncertain_below)
        fallback.note = f"{name} fuser weights missing, fused by {FALLBACK}"
        fuser = fallback
    return fuser


def _exists(folder: str | Path, name: str) -> bool:
    from emotion_agent.core.models import ModelNotFoundError
    from emotion_agent.fusion.experts.base import checkpoint_file

    try:
        checkpoint_file(folder, f"{name}.pt")
    except ModelNotFoundError:
        return False
    return True
