"""The text expert as a small ensemble: several fine-tuned top stacks over one shared base encoder.

Every member was trained the same way (``emotion-agent train text``: the top ``finetuned_layers``
layers of the same base encoder plus a linear head) from another start or another seed, so the
members differ only in those top layers and their heads.  At run time the lower layers run once; the
first member's top layers are merged into the encoder as for a single expert, and each further member
runs its own copy of the top layers on the states below them.  The members' raw logits (before any
temperature or bias) are averaged, divided by the ensemble's temperature and shifted by its logit
bias (both fitted on the held-out slice by ``emotion-agent train text-ensemble``).

Checkpoint (``TextExpertConfig.members`` = k ≥ 2): member 0 is stored as a single expert is
(``head.*``, ``delta.*``); member i ≥ 1 under ``member{i}.head.*`` and ``member{i}.delta.*`` (deltas
of the same top layers, keyed by encoder parameter name); plus ``ensemble.temperature`` and
``ensemble.logit_bias``.  A single expert's checkpoint (members = 1) has none of these.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.fusion.experts.text_encoder import Encoder, TopLayers, mean_pool, run_top_layers

ENSEMBLE_PREFIX = "ensemble."


class RawLogitHead(Protocol):
    """What the ensemble needs of a member's head (``fusion.experts.text.TextHead``)."""

    def raw_logits(self, pooled: torch.Tensor) -> torch.Tensor: ...


def member_prefix(index: int) -> str:
    """State-dict prefix of member ``index`` (member 0 has none: it is stored as a single expert)."""
    return "" if index == 0 else f"member{index}."


@dataclass
class EnsembleTops:
    """Members 1..k-1 (their own top layers and heads) and how all k members' logits are combined."""

    tops: Sequence[TopLayers]
    heads: Sequence[RawLogitHead]
    """``TextHead`` of each further member."""
    n_top: int
    temperature: float
    logit_bias: torch.Tensor

    @property
    def size(self) -> int:
        return len(self.tops) + 1

    def logits(self, first_head: RawLogitHead, hidden_states: Sequence[torch.Tensor], mask: torch.Tensor,
               pool_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Combined logits (b, 7) and the first member's sentence vectors (b, hidden), from the encoder's
        hidden states (``num_layers + 1`` tensors, the first member's top layers included)."""
        pooled = mean_pool(hidden_states[-1], pool_mask)
        below = hidden_states[-1 - self.n_top]
        raws = [first_head.raw_logits(pooled)]
        for top, head in zip(self.tops, self.heads, strict=True):
            raws.append(head.raw_logits(mean_pool(run_top_layers(top, below, mask), pool_mask)))
        return torch.stack(raws).mean(dim=0) / self.temperature + self.logit_bias, pooled


def load_members(encoder: Encoder, n_top: int, members: int, state: Mapping[str, torch.Tensor],
                 deltas_of: Callable[[Mapping[str, torch.Tensor], str], dict[str, torch.Tensor]],
                 make_head: Callable[[Mapping[str, torch.Tensor], str], RawLogitHead],
                 source: object) -> EnsembleTops:
    """Members 1..``members``-1 from a checkpoint's ``state``; call it *before* member 0's deltas are
    merged into ``encoder`` (each member's top layers start from the base weights).

    ``deltas_of(state, prefix)`` returns a member's float deltas keyed by encoder parameter name and
    ``make_head(state, prefix)`` its loaded head (both from ``fusion.experts.text``)."""
    if n_top <= 0:
        raise ModelNotFoundError(f"{source}: an ensemble needs fine-tuned top layers (finetuned_layers > 0)")
    for key in ("temperature", "logit_bias"):
        if ENSEMBLE_PREFIX + key not in state:
            raise ModelNotFoundError(f"{source}: ensemble checkpoint lacks {ENSEMBLE_PREFIX + key}")
    tops: list[TopLayers] = []
    heads: list[RawLogitHead] = []
    for index in range(1, members):
        prefix = member_prefix(index)
        deltas = deltas_of(state, prefix)
        if not deltas:
            raise ModelNotFoundError(f"{source}: member {index} of {members} has no fine-tuned deltas")
        tops.append(top_with_deltas(encoder, n_top, deltas, f"{source}: member {index}"))
        heads.append(make_head(state, prefix))
    bias = state[ENSEMBLE_PREFIX + "logit_bias"].float()
    temperature = float(state[ENSEMBLE_PREFIX + "temperature"])
    if temperature <= 0:
        raise ModelNotFoundError(f"{source}: ensemble temperature must be positive, got {temperature}")
    return EnsembleTops(tops, heads, n_top, temperature, bias)


def top_layer_name(name: str, first: int) -> str | None:
    """``encoder.layer.<i>.<rest>`` (an encoder parameter name) as the ``TopLayers`` name ``<i - first>.<rest>``
    of a stack that starts at layer ``first``; None for a parameter below it or outside the layers."""
    parts = name.split(".")
    if len(parts) < 4 or parts[:2] != ["encoder", "layer"] or not parts[2].isdigit() or int(parts[2]) < first:
        return None
    return f"{int(parts[2]) - first}.{'.'.join(parts[3:])}"


def top_with_deltas(encoder: Encoder, n_top: int, deltas: Mapping[str, torch.Tensor], source: object) -> TopLayers:
    """A copy of ``encoder``'s top ``n_top`` layers with ``deltas`` (float, keyed by encoder parameter name)
    added; ``ModelNotFoundError`` for a delta outside those layers or of the wrong shape."""
    top = copy.deepcopy(encoder.top_layers(n_top))
    params = dict(top.named_parameters())
    first = encoder.num_layers - n_top
    with torch.no_grad():
        for name, delta in deltas.items():
            local = top_layer_name(name, first)
            if local is None:
                raise ModelNotFoundError(f"{source}: a delta outside the top {n_top} layers ({name})")
            if local not in params or params[local].shape != delta.shape:
                raise ModelNotFoundError(f"{source}: delta {name} does not fit the encoder")
            params[local].add_(delta.float())
    return top.eval()


def ensemble_state(temperature: float, logit_bias: torch.Tensor) -> dict[str, torch.Tensor]:
    return {ENSEMBLE_PREFIX + "temperature": torch.tensor(float(temperature)),
            ENSEMBLE_PREFIX + "logit_bias": logit_bias.detach().float().clone()}


__all__ = ["ENSEMBLE_PREFIX", "EnsembleTops", "RawLogitHead", "ensemble_state", "load_members", "member_prefix",
           "top_layer_name", "top_with_deltas"]
