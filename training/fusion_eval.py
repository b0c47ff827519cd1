"""``emotion-agent eval fusion``: every fuser and the best single expert on one table.

Rows: the best single expert (per condition, the best expert among those present, chosen on the
test set itself — an oracle choice that favours the baseline) and each fuser.  Columns: accuracy /
macro-F1 on the test split under each condition of ``fusion_data.CONDITIONS`` (synthetic same-label
pairing for all but ``asr``), and ECE on the all-modalities condition, before (T = 1) and after the
temperature fitted on the calibration split.  ``--json`` makes the last
stdout line one JSON object keyed by row name.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.core.events import MODALITIES
from emotion_agent.core.numeric import softmax
from emotion_agent.fusion.fusers.base import BaseFuser
from emotion_agent.training.fusion_data import (
    ALL_CONDITIONS,
    CONDITIONS,
    FusionSet,
    Pools,
    SplitIndex,
    evaluation_sets,
)
from emotion_agent.training.metrics import classification_report, expected_calibration_error

BEST_SINGLE = "best_single_expert"
HEADERS = {"all": "all three", "no_face": "no face", "no_voice": "no voice", "no_text": "no words",
           "noisy_voice": "noisy voice", "swapped_face": "wrong face", "swapped_text": "wrong words",
           "asr": "ASR path", "face_only": "face only", "voice_only": "voice only", "text_only": "words only"}
TARGET_GAIN_ALL = 0.10
TARGET_ECE = 0.05


def _scores(probs: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """n, accuracy, macro-F1, ECE, per-class F1 and the confusion matrix (rows true, columns predicted)."""
    report = classification_report(probs, y)
    return {k: report[k] for k in ("n", "accuracy", "macro_f1", "ece", "per_class_f1", "confusion")}


def _expert_probs(s: FusionSet, i: int) -> np.ndarray:
    return softmax(s.logits[:, i], axis=1, dtype=np.float64)


def best_single(sets: dict[str, FusionSet]) -> dict[str, Any]:
    """Per condition, the expert with the best accuracy among those present in every sample."""
    conditions: dict[str, Any] = {}
    for cond, s in sets.items():
        best: dict[str, Any] | None = None
        for i, m in enumerate(MODALITIES):
            if not s.present[:, i].all():
                continue
            row = {**_scores(_expert_probs(s, i), s.y), "expert": m}
            if best is None or row["accuracy"] > best["accuracy"]:
                best = row
        if best is None:
            raise ValueError(f"condition {cond!r}: no expert is present in every sample")
        conditions[cond] = best
    return {"conditions": conditions, "ece": conditions["all"]["ece"] if "all" in conditions else None}


def alpha_summary(alpha: np.ndarray, s: FusionSet) -> dict[str, Any]:
    """Mean α per modality, and over the samples where it is present, mean α when that modality's
    expert was right vs wrong (attention that means something gives more weight when right)."""
    right = s.logits.argmax(axis=2) == s.y[:, None]  # (n, 3)
    out: dict[str, Any] = {"alpha_mean": {m: round(float(alpha[:, i].mean()), 4) for i, m in enumerate(MODALITIES)},
                           "alpha_when_expert_right": {}, "alpha_when_expert_wrong": {}}
    for i, m in enumerate(MODALITIES):
        for key, mask in (("alpha_when_expert_right", right[:, i]), ("alpha_when_expert_wrong", ~right[:, i])):
            sel = s.present[:, i] & mask
            out[key][m] = round(float(alpha[sel, i].mean()), 4) if sel.any() else None
    return out


def evaluate(fusers: dict[str, BaseFuser], pools: Pools, split: SplitIndex, n: int, seed: int) -> dict[str, Any]:
    """All rows on the test split's conditions; ``rows`` keyed by row name."""
    sets = evaluation_sets(pools, split, n, seed, ALL_CONDITIONS)
    rows: dict[str, Any] = {BEST_SINGLE: best_single(sets)}
    for name, fuser in fusers.items():
        conditions: dict[str, Any] = {}
        for cond, s in sets.items():
            probs, alpha = fuser.predict_batch(s.batch())
            conditions[cond] = {**_scores(probs, s.y), **alpha_summary(alpha, s)}
        raw_logits, _ = fuser.predict_logits(sets["all"].batch()) if "all" in sets else (None, None)
        rows[name] = {"conditions": conditions, "ece": conditions["all"]["ece"] if "all" in conditions else None,
                      "ece_uncalibrated": (None if raw_logits is None
                                           else expected_calibration_error(softmax(raw_logits, axis=1, dtype=np.float64), sets["all"].y)),
                      "temperature": fuser.temperature}
    return {"conditions": [c for c in sets if c in CONDITIONS], "extra_conditions": [c for c in sets if c not in CONDITIONS],
            "n": {c: len(s) for c, s in sets.items()}, "rows": rows, "targets": targets(rows)}


def targets(rows: dict[str, Any]) -> dict[str, Any]:
    """The attention fuser against the stated targets (measured, pass/fail, margin)."""
    if "attention" not in rows:
        return {}
    att, base = rows["attention"]["conditions"], rows[BEST_SINGLE]["conditions"]
    out: dict[str, Any] = {}
    if "all" in att:
        gain = att["all"]["accuracy"] - base["all"]["accuracy"]
        out["gain_over_best_expert_all"] = {"value": round(gain, 4), "target": f">= {TARGET_GAIN_ALL}",
                                            "met": gain >= TARGET_GAIN_ALL}
    for m in MODALITIES:
        c = f"no_{m}"
        if c in att:
            d = att[c]["accuracy"] - base[c]["accuracy"]
            out[f"missing_{m}_vs_best_remaining"] = {"value": round(d, 4), "target": ">= 0", "met": d >= 0}
    if "average" in rows and "all" in att:
        avg = rows["average"]["conditions"]
        for c in ("noisy_voice", "swapped_face", "swapped_text"):
            if c in att:
                loss_att = att["all"]["accuracy"] - att[c]["accuracy"]
                loss_avg = avg["all"]["accuracy"] - avg[c]["accuracy"]
                out[f"{c}_loss_vs_average"] = {"value": round(loss_att, 4), "average": round(loss_avg, 4),
                                               "target": "< average's loss", "met": loss_att < loss_avg}
    ece = rows["attention"]["ece"]
    out["ece_all"] = {"value": round(ece, 4), "target": f"<= {TARGET_ECE}", "met": ece <= TARGET_ECE}
    return out


def format_table(results: dict[str, Any]) -> str:
    conds = results["conditions"]
    head = (f"{'acc / macro-F1':<20}" + "".join(f"{HEADERS.get(c, c):>13}" for c in conds)
            + f"{'ECE T=1':>9}{'ECE':>7}")
    lines = ["fusion on held-out pools (test split; all but 'ASR path' are SYNTHETIC same-label pairings)",
             head, "-" * len(head)]
    for name, row in results["rows"].items():
        cells = "".join(f"{row['conditions'][c]['accuracy']:>7.3f}/{row['conditions'][c]['macro_f1']:.2f}"
                        for c in conds)
        raw, ece = row.get("ece_uncalibrated"), row["ece"]
        lines.append(f"{name:<20}{cells}" + (f"{raw:>9.3f}" if raw is not None else f"{'-':>9}")
                     + (f"{ece:>7.3f}" if ece is not None else f"{'-':>7}"))
    best = results["rows"][BEST_SINGLE]["conditions"]
    lines.append("best single expert per condition: " + ", ".join(f"{HEADERS.get(c, c)}={best[c]['expert']}"
                                                                  for c in conds))
    lines.append("n per condition: " + ", ".join(f"{HEADERS.get(c, c)}={results['n'][c]}" for c in conds))
    extra = results.get("extra_conditions", [])
    for name in ("attention", "average"):
        row = results["rows"].get(name)
        if row is not None and extra:
            lines.append(f"{name} with one modality, accuracy / ECE: " + ", ".join(
                f"{HEADERS.get(c, c)} {row['conditions'][c]['accuracy']:.3f} / {row['conditions'][c]['ece']:.3f}"
                for c in extra))
    for key, t in results.get("targets", {}).items():
        extra = f" (average loses {t['average']:.3f})" if "average" in t else ""
        lines.append(f"target {key}: {t['value']:+.3f}{extra}, want {t['target']}: {'MET' if t['met'] else 'MISSED'}")
    return "\n".join(lines)


def eval_main(argv: list[str] | None = None) -> int:
    return run_eval(build_eval_parser().parse_args(argv))


def build_eval_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    from emotion_agent.fusion.fusers.registry import FUSER_NAMES
    from emotion_agent.training.fusion_data import data_args

    parser = parser or argparse.ArgumentParser(prog="emotion-agent eval fusion", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    data_args(parser)
    parser.add_argument("--weights", default=None, help="folder of the fuser checkpoints (default: settings)")
    parser.add_argument("--fusers", default=",".join(FUSER_NAMES), help="comma-separated (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object keyed by row name")
    parser.add_argument("--report", type=Path, default=None, help="also write the full results as JSON here")
    return parser


def run_eval(args: argparse.Namespace) -> int:
    from emotion_agent.core.settings import get_settings
    from emotion_agent.fusion.experts.base import torch_threads
    from emotion_agent.fusion.fusers.registry import load_fuser
    from emotion_agent.training.fusion_data import build_pools, split_indices

    settings = get_settings()
    with torch_threads(1):
        fusers = {n.strip(): load_fuser(n.strip(), args.weights, settings) for n in args.fusers.split(",") if n.strip()}
        pools = build_pools(args.voice_data, args.face_data, args.text_data, directory=args.cache_dir,
                            text_rows=args.text_rows)
        split = split_indices(pools)["test"]
        results = evaluate(fusers, pools, split, n=args.n, seed=args.seed + 2)  # type: ignore[arg-type]
    print(format_table(results))
    if args.report is not None:
        args.report.write_text(json.dumps(results, indent=2))
    if args.json:
        print(json.dumps(compact(results)))
    return 0


def compact(results: dict[str, Any]) -> dict[str, Any]:
    """Row name → {condition: {accuracy, macro_f1}, ece} (the ``--json`` line)."""
    return {name: {**{c: {"accuracy": round(v["accuracy"], 4), "macro_f1": round(v["macro_f1"], 4)}
                      for c, v in row["conditions"].items() if c in results["conditions"]},
                   "ece": None if row["ece"] is None else round(row["ece"], 4),
                   "ece_uncalibrated": (None if row.get("ece_uncalibrated") is None
                                        else round(row["ece_uncalibrated"], 4))}
            for name, row in results["rows"].items()}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(eval_main())


__all__ = ["CONDITIONS", "best_single", "build_eval_parser", "compact", "eval_main", "evaluate", "format_table",
           "run_eval", "targets"]
