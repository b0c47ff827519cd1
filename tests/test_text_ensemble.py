"""The text expert as an ensemble of fine-tuned top stacks over one base encoder
(``fusion.experts.text_ensemble``), int8 layer deltas, and the combining command's checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import softmax

from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.fusion.experts.base import save_checkpoint
from emotion_agent.fusion.experts.text import (
    TextExpert,
    TextExpertConfig,
    TextHead,
    base_checksums,
    build_state_dict,
    member_deltas,
)
from emotion_agent.fusion.experts.text_encoder import load_encoder, top_layer_names
from emotion_agent.fusion.experts.text_ensemble import ensemble_state, member_prefix
from emotion_agent.training.text_ensemble_train import member_configs

TEXTS = ["where is my order", "i am so happy", "the parcel is late again"]
CONTEXTS = [["sorry", "the parcel is late"], [], ["ok thanks"]]


def _config(encoder: Path, members: int = 1) -> TextExpertConfig:
    return TextExpertConfig(encoder=str(encoder), hidden_size=16, max_length=24, finetuned_layers=1,
                            context_turns=2, pool="current", members=members)


def _member(encoder: Path, seed: int) -> tuple[TextHead, dict[str, torch.Tensor]]:
    """A random head (temperature 1, no bias) and random deltas for the top layer."""
    torch.manual_seed(seed)
    base = load_encoder(encoder)
    params = dict(base.model.named_parameters())
    deltas = {n: 0.05 * torch.randn_like(params[n]) for n in top_layer_names(base, 1)}
    return TextHead(_config(encoder)), deltas


def _checks(encoder: Path) -> dict[str, float]:
    base = load_encoder(encoder)
    return base_checksums(base, top_layer_names(base, 1))


def _single(encoder: Path, folder: Path, head: TextHead, deltas: dict[str, torch.Tensor]) -> Path:
    save_checkpoint(folder / "model.pt", _config(encoder), build_state_dict(head, deltas),
                    base_check=_checks(encoder))
    return folder


def _ensemble(encoder: Path, folder: Path, members: list[tuple[TextHead, dict[str, torch.Tensor]]],
              temperature: float, bias: torch.Tensor, delta_dtype: str = "fp16") -> Path:
    state: dict[str, torch.Tensor] = {}
    for i, (head, deltas) in enumerate(members):
        state.update(build_state_dict(head, deltas, member_prefix(i), delta_dtype))
    state.update(ensemble_state(temperature, bias))
    save_checkpoint(folder / "model.pt", _config(encoder, len(members)), state, base_check=_checks(encoder))
    return folder


def test_an_ensemble_averages_its_members_raw_logits(tiny_encoder: Path, tmp_path: Path) -> None:
    a, b = _member(tiny_encoder, 1), _member(tiny_encoder, 2)
    bias = torch.tensor([0.3, 0.0, -0.2, 0.0, 0.1, 0.0, -0.4])
    ensemble = TextExpert.load(_ensemble(tiny_encoder, tmp_path / "ens", [a, b], 1.3, bias))
    assert ensemble.ensemble is not None and ensemble.ensemble.size == 2
    # Each member alone (temperature 1, no bias): its log-probabilities are its raw logits up to a constant.
    alone = [TextExpert.load(_single(tiny_encoder, tmp_path / name, *m)) for name, m in (("a", a), ("b", b))]
    logs = [np.log(np.stack([s.probs for s in e.predict_many(TEXTS, contexts=CONTEXTS)])) for e in alone]
    expected = softmax(np.mean(logs, axis=0) / 1.3 + bias.numpy(), axis=1)
    got = np.stack([s.probs for s in ensemble.predict_many(TEXTS, contexts=CONTEXTS)])
    assert np.allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, np.exp(logs[0]), atol=1e-3)  # not just the first member
    # One message in context, batched or alone, and the embedding is the first member's sentence vector.
    one = ensemble.predict_in_context(TEXTS[0], CONTEXTS[0])
    assert np.allclose(one.probs, got[0], atol=1e-5)
    assert np.allclose(one.embedding, alone[0].predict_in_context(TEXTS[0], CONTEXTS[0]).embedding, atol=1e-5)


def test_int8_deltas_round_trip_within_half_a_step(tiny_encoder: Path, tmp_path: Path) -> None:
    head, deltas = _member(tiny_encoder, 3)
    state = build_state_dict(head, deltas, delta_dtype="int8")
    back = member_deltas(state)
    for name, delta in deltas.items():
        if delta.dim() == 2:
            assert state[f"delta.{name}"].dtype == torch.int8
            step = delta.abs().amax(dim=1, keepdim=True) / 127
            assert bool(((back[name] - delta).abs() <= step / 2 + 1e-4).all())
        else:
            assert state[f"delta.{name}"].dtype == torch.float16
    fp16 = TextExpert.load(_ensemble(tiny_encoder, tmp_path / "fp16", [(head, deltas), _member(tiny_encoder, 4)],
                                     1.0, torch.zeros(7)))
    int8 = TextExpert.load(_ensemble(tiny_encoder, tmp_path / "int8", [(head, deltas), _member(tiny_encoder, 4)],
                                     1.0, torch.zeros(7), delta_dtype="int8"))
    assert np.allclose(fp16.predict("where is my order").probs, int8.predict("where is my order").probs, atol=2e-3)
    with pytest.raises(ValueError):
        build_state_dict(head, deltas, delta_dtype="int4")


def test_broken_ensemble_checkpoints_are_clear_errors(tiny_encoder: Path, tmp_path: Path) -> None:
    a, b = _member(tiny_encoder, 5), _member(tiny_encoder, 6)
    folder = _ensemble(tiny_encoder, tmp_path / "ok", [a, b], 1.0, torch.zeros(7))
    ckpt = torch.load(folder / "model.pt", weights_only=False)

    def broken(name: str, state: dict[str, torch.Tensor], **config: object) -> Path:
        out = tmp_path / name
        save_checkpoint(out / "model.pt", TextExpertConfig.from_dict({**ckpt["config"], **config}), state,
                        base_check=ckpt["base_check"])
        return out

    no_temperature = {k: v for k, v in ckpt["state_dict"].items() if k != "ensemble.temperature"}
    no_member = {k: v for k, v in ckpt["state_dict"].items() if not k.startswith("member1.delta.")}
    for name, state, config in (("no_t", no_temperature, {}), ("no_member", no_member, {}),
                                ("three", ckpt["state_dict"], {"members": 3}),
                                ("no_top", ckpt["state_dict"], {"finetuned_layers": 0})):
        with pytest.raises(ModelNotFoundError):
            TextExpert.load(broken(name, state, **config))


def test_members_must_share_base_layers_and_context(tiny_encoder: Path, tmp_path: Path) -> None:
    a = _single(tiny_encoder, tmp_path / "a", *_member(tiny_encoder, 7))
    b = _single(tiny_encoder, tmp_path / "b", *_member(tiny_encoder, 8))
    ckpts, configs = member_configs([a, b])
    assert len(ckpts) == 2 and configs[1].finetuned_layers == 1
    with pytest.raises(SystemExit):
        member_configs([a])
    other = tmp_path / "other"
    head, deltas = _member(tiny_encoder, 9)
    save_checkpoint(other / "model.pt", TextExpertConfig.from_dict({**_config(tiny_encoder).__dict__,
                                                                   "context_turns": 1}),
                    build_state_dict(head, deltas), base_check=_checks(tiny_encoder))
    with pytest.raises(SystemExit, match="context_turns"):
        member_configs([a, other])
    ens = _ensemble(tiny_encoder, tmp_path / "ens", [_member(tiny_encoder, 10), _member(tiny_encoder, 11)], 1.0,
                    torch.zeros(7))
    with pytest.raises(SystemExit, match="already an ensemble"):
        member_configs([a, ens])
