"""Combine text experts trained by ``emotion-agent train text`` into one ensemble checkpoint.

The members must share the base encoder, the number of fine-tuned top layers, the context and pooling
(``fusion.experts.text_ensemble``).  On the held-out slice that ``train text`` used (the same data
options and ``--split-seed``; no dev set is used for any choice):

1. each member's raw logits are computed on the cached lower-layer states;
2. their mean is calibrated as a single expert is (``--calibration``, ``--prior``, ``--ece-min-rows``);
3. per-domain held-out scores of every member and of the ensemble are reported (the selection evidence);
4. the checkpoint is written (``--delta-dtype int8`` halves the deltas' size) and loaded back through
   ``TextExpert.load``: its held-out probabilities are compared with the cached computation (the int8
   rounding and the run-time path), and the dev sets and the P50 latency per message are measured.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import softmax

from emotion_agent.fusion.experts.base import checkpoint_file, load_checkpoint, save_checkpoint
from emotion_agent.fusion.experts.text import (
    TextExpert,
    TextExpertConfig,
    build_state_dict,
    member_deltas,
    member_head,
)
from emotion_agent.fusion.experts.text_encoder import load_encoder
from emotion_agent.fusion.experts.text_ensemble import ensemble_state, member_prefix, top_with_deltas
from emotion_agent.training.text_context_train import (
    build_train_parser,
    cached_states,
    calibrate,
    dev_sets,
    domain_group,
    domain_score,
    domain_scores,
    figures,
    p50_latency,
    source_paths,
    top_logits,
    training_examples,
    with_context,
)

_SAME = ("encoder", "hidden_size", "max_length", "finetuned_layers", "context_turns", "pool")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = build_train_parser(parser)
    p.description = __doc__
    p.add_argument("--members", type=Path, nargs="+", required=True,
                   help="two or more checkpoints (files or folders) from `train text` on the same held-out split")
    p.add_argument("--delta-dtype", choices=("fp16", "int8"), default="int8",
                   help="how the members' layer deltas are stored (int8: a scale per row, half the size)")
    return p


def member_configs(paths: list[Path]) -> tuple[list[dict[str, Any]], list[TextExpertConfig]]:
    """Checkpoints and configs of the members; ``SystemExit`` when they cannot form an ensemble."""
    if len(paths) < 2:
        raise SystemExit("--members needs at least two checkpoints")
    ckpts = [load_checkpoint(checkpoint_file(p)) for p in paths]
    configs = [TextExpertConfig.from_dict(c["config"]) for c in ckpts]
    for path, config, ckpt in zip(paths, configs, ckpts, strict=True):
        if config.members != 1:
            raise SystemExit(f"{path}: already an ensemble ({config.members} members)")
        if config.finetuned_layers <= 0:
            raise SystemExit(f"{path}: no fine-tuned top layers to ensemble")
        differ = [k for k in _SAME if getattr(config, k) != getattr(configs[0], k)]
        if differ or ckpt.get("base_check") != ckpts[0].get("base_check"):
            raise SystemExit(f"{path}: differs from {paths[0]} in {differ or ['base encoder weights']}")
    return ckpts, configs


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    from emotion_agent.training.cli_support import command_line

    command = command_line("train", "text-ensemble", argv)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    ckpts, configs = member_configs(list(args.members))
    first = configs[0]
    args.max_length, args.context_turns, args.finetune_layers = first.max_length, first.context_turns, \
        first.finetuned_layers
    n_top = first.finetuned_layers
    _, held_ex, counts = training_examples(args)
    paths = source_paths(args.data, args.authored, args.dialogue)
    held_ex = [e for d in paths for e in held_ex if domain_group(e.domain) == d]
    encoder = load_encoder(first.encoder)
    enc_held = cached_states(encoder, held_ex, args.max_length, encoder.num_layers - n_top, args.cache_dir, "held")
    y = np.array([e.label for e in held_ex], dtype=np.int64)
    d = np.array([domain_group(e.domain) for e in held_ex])
    g = np.array([f"{e.domain}|{e.group}" for e in held_ex])
    raws: list[np.ndarray] = []
    members: dict[str, Any] = {}
    for path, config, ckpt in zip(args.members, configs, ckpts, strict=True):
        member_state = ckpt["state_dict"]
        top = top_with_deltas(encoder, n_top, member_deltas(member_state), path)
        raw = top_logits(top, member_head(config, member_state), enc_held)
        raws.append(raw)
        members[str(path)] = {"held_score_per_domain": domain_scores(y, raw.argmax(1), d),
                              "held_score": round(domain_score(y, raw.argmax(1), d), 4)}
        print(path, members[str(path)], flush=True)
    mean_raw = np.mean(raws, axis=0)
    t, bias, final = calibrate(mean_raw, y, d, args.calibration, args.prior, g, args.ece_min_rows)
    print("ensemble", {k: v for k, v in final.items() if k != "prior"}, flush=True)
    state: dict[str, torch.Tensor] = {}
    for index, (config, ckpt) in enumerate(zip(configs, ckpts, strict=True)):
        member_state = ckpt["state_dict"]
        state.update(build_state_dict(member_head(config, member_state), member_deltas(member_state),
                                      member_prefix(index), args.delta_dtype))
    state.update(ensemble_state(t, torch.from_numpy(bias)))
    config_out = replace(first, members=len(configs),
                         approach=f"ensemble of {len(configs)} ({args.delta_dtype} deltas): {first.approach}")
    args.out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out / "model.pt", config_out, state, base_check=ckpts[0].get("base_check", {}))
    expert = TextExpert.load(args.out, threads=args.threads)
    loaded = expert.predict_proba([e.text for e in held_ex], contexts=[e.context for e in held_ex])
    cached = softmax(mean_raw / t + bias, axis=1)
    check = {"max_abs_prob_diff": round(float(np.abs(loaded - cached).max()), 5),
             "argmax_agreement": round(float((loaded.argmax(1) == cached.argmax(1)).mean()), 5)}
    print("loaded checkpoint vs cached computation on the held-out slice:", check, flush=True)
    dev: dict[str, Any] = {}
    devs = dev_sets(args)
    for name, rows in devs.items():
        variants = {"ctx": rows, **({"none": with_context(rows, 0)} if any(e.context for e in rows) else {})}
        for tag, examples in variants.items():
            probs = expert.predict_proba([e.text for e in examples], contexts=[e.context for e in examples])
            dev[f"{name}|{tag}"] = figures(probs, np.array([e.label for e in examples], dtype=np.int64))
            print(f"{name}|{tag}", {k: v for k, v in dev[f"{name}|{tag}"].items() if k != "per_class_f1"}, flush=True)
    lat_rows = devs.get("authored") or next(iter(devs.values()))
    latency = p50_latency(expert, lat_rows, args.latency_n)
    print("latency fp32", latency, flush=True)
    report = {"command": command, "members": members, "counts": counts, **final, "loaded_check": check,
              "dev": dev, "latency": {"fp32": latency}, "checkpoint_bytes": (args.out / "model.pt").stat().st_size,
              "total_seconds": round(time.perf_counter() - t_start, 1)}
    (args.out / "report_ensemble.json").write_text(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv), argv)
