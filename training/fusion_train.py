"""``emotion-agent train fusion``: train the attention, concat and transformer fusers, calibrate all five.

Steps: build (or read from cache) the experts' outputs on the held-out pools (``fusion_data``); make
the training mixture from the train split; train each learned fuser with cross-entropy and modality
dropout (every training sample loses 0, 1 or 2 of its modalities at random, so every subset is
seen), keeping the epoch with the lowest NLL on the calibration split; fit a temperature per fuser
on the calibration split; write ``<out>/{attention,concat,transformer,average,max_confidence}.pt``,
evaluate everything on the test split (``fusion_eval``) and write ``report.json``, ``EVAL.md`` and
``MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotion_agent.core.labels import LABELS
from emotion_agent.core.settings import WEIGHTS_DIR, get_settings
from emotion_agent.fusion.fusers.base import BaseFuser, FusionBatch
from emotion_agent.training.fusion_data import FusionSet, data_args

DROP_PROBS: tuple[float, float, float] = (0.4, 0.3, 0.3)
"""P(a training sample loses 0, 1, 2 modalities); never all of them."""
NO_DROPOUT: tuple[str, ...] = ("swapped_face", "swapped_text", "asr", "neutral_words")
"""Training conditions exempt from modality dropout (see ``train_fuser``)."""
LOGIT_NOISE = 1.0
"""σ of the Gaussian noise added to the experts' logits while training (see ``jitter``)."""


def modality_dropout(present: torch.Tensor, gen: torch.Generator,
                     probs: tuple[float, float, float] = DROP_PROBS) -> torch.Tensor:
    """A keep-mask (B, M) that removes k ∈ {0, 1, 2} present modalities per row (k drawn from
    ``probs``, capped so at least one modality stays)."""
    b, m = present.shape
    k = torch.multinomial(torch.tensor(probs), b, replacement=True, generator=gen)
    k = torch.minimum(k, present.sum(dim=1) - 1).clamp_min(0)
    # Random order of the present modalities; drop the first k of them.
    noise = torch.rand(b, m, generator=gen).masked_fill(~present, 2.0)
    rank = noise.argsort(dim=1).argsort(dim=1)
    return ~(rank < k[:, None])


def jitter(batch: FusionBatch, sigma: float, gen: torch.Generator) -> FusionBatch:
    """Gaussian noise (σ ``sigma``) on every expert's logits: each pool item recurs in thousands of
    pairings, and without noise a fuser learns the exact logit vector of each training item."""
    noise = torch.randn(batch.logits.shape, generator=gen) * sigma
    return FusionBatch(batch.logits + noise, batch.confidence, batch.present, batch.embeddings)


def train_fuser(model: Any, train: FusionSet, val: FusionSet | None = None, epochs: int = 20,
                lr: float = 1e-3, weight_decay: float = 1e-2, batch_size: int = 256, seed: int = 0,
                dropout_probs: tuple[float, float, float] = DROP_PROBS, logit_noise: float = LOGIT_NOISE,
                progress: bool = True) -> dict[str, Any]:
    """Train ``model`` (a learned fuser, an ``nn.Module``) in place; returns the loss history.

    With ``val`` the state with the lowest validation NLL is kept (early stopping by selection)."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = train.batch().sanitized()
    y = torch.as_tensor(train.y, dtype=torch.long)
    val_batch = val.batch().sanitized() if val is not None else None
    val_y = torch.as_tensor(val.y, dtype=torch.long) if val is not None else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    # A swapped face or sentence is there to teach disagreement: never leave it alone (a lone face of
    # another label would only teach that a single modality means nothing).
    swapped = torch.as_tensor(np.isin(train.condition, NO_DROPOUT))
    history: dict[str, Any] = {"train_loss": [], "val_nll": [], "best_epoch": None}
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    bar = tqdm(range(epochs), desc=f"train {model.name}", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(y), generator=gen)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            batch = data.index(idx)
            keep = modality_dropout(batch.present, gen, dropout_probs)
            keep[swapped[idx]] = True
            if logit_noise > 0:
                batch = jitter(batch, logit_noise, gen)
            loss = model.training_loss(batch.masked(keep).sanitized(), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        history["train_loss"].append(total / len(y))
        if val_batch is not None and val_y is not None:
            model.eval()
            with torch.no_grad():
                nll = float(torch.nn.functional.cross_entropy(model(val_batch)[0], val_y))
            history["val_nll"].append(nll)
            if best is None or nll < best[0]:
                best = (nll, {k: v.detach().clone() for k, v in model.state_dict().items()})
                history["best_epoch"] = epoch + 1
            bar.set_postfix(loss=f"{total / len(y):.3f}", val_nll=f"{nll:.3f}")
    if best is not None:
        model.load_state_dict(best[1])
    model.eval()
    return history


def build_learned(name: str, dims: dict[str, int], seed: int = 0) -> Any:
    """A fresh learned fuser; its initial weights depend only on ``seed``."""
    from emotion_agent.fusion.fusers.attention import AttentionConfig, AttentionFuser
    from emotion_agent.fusion.fusers.concat import ConcatConfig, ConcatFuser
    from emotion_agent.fusion.fusers.transformer import TransformerConfig, TransformerFuser

    torch.manual_seed(seed)
    if name == "attention":
        return AttentionFuser(AttentionConfig(embedding_dims=dims))
    if name == "concat":
        return ConcatFuser(ConcatConfig(embedding_dims=dims))
    if name == "transformer":
        return TransformerFuser(TransformerConfig(embedding_dims=dims))
    raise ValueError(f"not a learned fuser: {name!r}")


def train_main(argv: list[str] | None = None) -> int:
    return run_train(build_train_parser().parse_args(argv), argv)


def build_train_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent train fusion", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    data_args(parser)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "fusion")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=8000, help="same-label training triples per epoch")
    parser.add_argument("--corruption", type=float, default=0.5, help="share of corruption augmentation")
    parser.add_argument("--neutral-words", type=float, default=0.15,
                        help="share of emotional face/voice + neutral-words training samples (0 to leave out)")
    parser.add_argument("--logit-noise", type=float, default=LOGIT_NOISE, help="σ of the training noise on logits")
    parser.add_argument("--no-ablation", action="store_true",
                        help="skip the attention-with-embeddings ablation (one more training)")
    parser.add_argument("--fusers", default="attention,concat,transformer")
    parser.add_argument("--no-cv", action="store_true",
                        help="skip the rotating actor-held-out check of the attention fuser (4 more trainings)")
    return parser


def run_train(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Train from parsed options; ``argv`` (the options as given) is recorded as the command."""
    from emotion_agent.fusion.experts.base import torch_threads
    from emotion_agent.fusion.fusers.average import AverageFuser
    from emotion_agent.fusion.fusers.max_confidence import MaxConfidenceFuser
    from emotion_agent.fusion.fusers.registry import FUSER_NAMES
    from emotion_agent.training.calibration import calibrate
    from emotion_agent.training.cli_support import command_line
    from emotion_agent.training.fusion_data import build_pools, calibration_set, split_indices, training_set
    from emotion_agent.training.fusion_eval import evaluate, format_table

    started = time.time()
    with torch_threads(1):
        pools = build_pools(args.voice_data, args.face_data, args.text_data, directory=args.cache_dir,
                            text_rows=args.text_rows)
        splits = split_indices(pools)
        rng = np.random.default_rng(args.seed)
        train = training_set(pools, splits["train"], args.n_train, rng, corruption=args.corruption,
                             neutral_words=args.neutral_words)
        calib = calibration_set(pools, splits["calib"], max(500, args.n // 3), args.seed + 1)
        calib_batch = calib.batch()
        dims = pools.embedding_dims()
        print(f"pools: face {len(pools.face)}, text {len(pools.text)}, voice {len(pools.voice)} clips; "
              f"train {len(train)} samples, calibration {len(calib)}; embedding dims {dims}")
        fusers: dict[str, BaseFuser] = {}
        histories: dict[str, Any] = {}
        for name in [n.strip() for n in args.fusers.split(",") if n.strip()]:
            model = build_learned(name, dims, args.seed)
            t0 = time.time()
            histories[name] = train_fuser(model, train, calib, epochs=args.epochs, seed=args.seed,
                                          logit_noise=args.logit_noise)
            histories[name]["seconds"] = round(time.time() - t0, 1)
            fusers[name] = model
        fusers["average"] = AverageFuser()
        fusers["max_confidence"] = MaxConfidenceFuser()
        fusers = {n: fusers[n] for n in FUSER_NAMES if n in fusers}  # the order `eval fusion` prints
        calibration: dict[str, Any] = {}
        for name, fuser in fusers.items():
            res = calibrate(fuser, calib_batch, calib.y)
            calibration[name] = res.__dict__
            print(f"calibrate {name:<14} T={res.temperature:.3f}  ECE {res.ece_before:.4f} → {res.ece_global:.4f} (one T)"
                  f" → {res.ece_after:.4f} (T per subset)  NLL {res.nll_before:.4f} → {res.nll_after:.4f}")
            fuser.save(args.out)  # type: ignore[attr-defined]
        results = evaluate(fusers, pools, splits["test"], n=args.n, seed=args.seed + 2)
        print(format_table(results))
        if not args.no_ablation and "attention" in fusers:
            results["ablation"] = embedding_ablation(pools, splits, train, calib, args, histories)
        cv = (cross_validate(pools, args.n_train, args.n, args.epochs, args.seed, args.corruption, args.logit_noise,
                             args.neutral_words)
              if not args.no_cv else None)
    meta = {"command": command_line("train", "fusion", argv), "seed": args.seed,
            "train_samples": len(train), "calibration_samples": len(calib), "embedding_dims": dims,
            "history": histories, "calibration": calibration, "minutes": round((time.time() - started) / 60, 1), "cv": cv,
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    write_outputs(results, args.out, meta)
    print(json.dumps({k: {"all_acc": v["conditions"]["all"]["accuracy"], "ece": v["ece"]}
                      for k, v in results["rows"].items()}))
    return 0


def embedding_ablation(pools: Any, splits: Any, train: FusionSet, calib: FusionSet, args: argparse.Namespace,
                       histories: dict[str, Any]) -> dict[str, Any]:
    """The attention fuser with the experts' embeddings as extra input (``embed_proj`` 32, all else
    equal), trained, calibrated and evaluated exactly like the committed one; not saved."""
    from dataclasses import replace

    from emotion_agent.fusion.fusers.attention import AttentionConfig, AttentionFuser
    from emotion_agent.training.calibration import calibrate
    from emotion_agent.training.fusion_eval import evaluate

    torch.manual_seed(args.seed)
    model = AttentionFuser(replace(AttentionConfig(embedding_dims=pools.embedding_dims()), embed_proj=32))
    t0 = time.time()
    hist = train_fuser(model, train, calib, epochs=args.epochs, seed=args.seed, logit_noise=args.logit_noise,
                       progress=False)
    hist["seconds"] = round(time.time() - t0, 1)
    histories["attention+embeddings (ablation)"] = hist
    calibrate(model, calib.batch(), calib.y)
    row = evaluate({"attention": model}, pools, splits["test"], n=args.n, seed=args.seed + 2)["rows"]["attention"]
    acc = {c: round(v["accuracy"], 4) for c, v in row["conditions"].items()}
    print("ablation: attention + embeddings, accuracy " + ", ".join(f"{c} {v:.3f}" for c, v in acc.items()))
    return {"attention+embeddings": {"accuracy": acc, "ece": row["ece"], "best_val_nll": min(hist["val_nll"])}}


def cross_validate(pools: Any, n_train: int, n_eval: int, epochs: int, seed: int, corruption: float,
                   logit_noise: float = LOGIT_NOISE, neutral_words: float = 0.15) -> dict[str, Any]:
    """Rotating actor-held-out check of the attention fuser (4 folds: each of actors 17-20 is the test
    actor once).  Faces and sentences keep their fixed splits.  Returns per-fold and mean figures for
    the attention fuser, averaging and the best single expert; the committed weights are not touched."""
    from emotion_agent.fusion.fusers.average import AverageFuser
    from emotion_agent.training.calibration import calibrate
    from emotion_agent.training.fusion_data import (
        calibration_set,
        rotating_actor_splits,
        split_indices,
        training_set,
    )
    from emotion_agent.training.fusion_eval import BEST_SINGLE, evaluate

    folds: list[dict[str, Any]] = []
    for k, actors in enumerate(rotating_actor_splits()):
        splits = split_indices(pools, actors)
        rng = np.random.default_rng([seed, k])
        train = training_set(pools, splits["train"], n_train, rng, corruption=corruption, neutral_words=neutral_words)
        calib = calibration_set(pools, splits["calib"], max(500, n_eval // 3), seed + 1)
        model = build_learned("attention", pools.embedding_dims(), seed)
        train_fuser(model, train, calib, epochs=epochs, seed=seed, logit_noise=logit_noise, progress=False)
        fusers: dict[str, BaseFuser] = {"attention": model, "average": AverageFuser()}
        for fuser in fusers.values():
            calibrate(fuser, calib.batch(), calib.y)
        res = evaluate(fusers, pools, splits["test"], n=n_eval, seed=seed + 2)
        fold: dict[str, Any] = {"test_actor": actors["test"][0]}
        for row in ("attention", "average", BEST_SINGLE):
            fold[row] = {c: round(v["accuracy"], 4) for c, v in res["rows"][row]["conditions"].items()}
        fold["attention_ece_all"] = round(res["rows"]["attention"]["ece"], 4)
        print(f"fold {k + 1}/4 (test actor {fold['test_actor']}): attention all {fold['attention']['all']:.3f}, "
              f"best expert {fold[BEST_SINGLE]['all']:.3f}, average {fold['average']['all']:.3f}")
        folds.append(fold)
    conds = list(folds[0]["attention"])
    mean = {row: {c: round(float(np.mean([f[row][c] for f in folds])), 4) for c in conds}
            for row in ("attention", "average", BEST_SINGLE)}
    return {"folds": folds, "mean": mean,
            "attention_ece_all_mean": round(float(np.mean([f["attention_ece_all"] for f in folds])), 4)}


def write_outputs(results: dict[str, Any], out: Path, meta: dict[str, Any]) -> None:
    """``report.json`` (everything), ``EVAL.md`` (the table) and ``MODEL_CARD.md`` in ``out``."""
    from emotion_agent.training.fusion_eval import format_table

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({**results, "meta": meta}, indent=2, default=float))
    table = format_table(results)
    if "attention" in results["rows"]:
        from emotion_agent.training.metrics import save_report

        all_three = results["rows"]["attention"]["conditions"]["all"]
        save_report({**all_three, "labels": list(LABELS)}, out, "attention_all",
                    title=f"attention fuser, all three (synthetic pairing): acc {all_three['accuracy']:.3f}")
    (out / "EVAL.md").write_text(f"# Fusion evaluation\n\nCommand: `{meta['command']}`\n\n```\n{table}\n```\n")
    (out / "MODEL_CARD.md").write_text(model_card(results, meta, table))


def model_card(results: dict[str, Any], meta: dict[str, Any], table: str) -> str:
    from emotion_agent.training.fusion_data import SNR_DB, SPLIT_ACTORS, SPLIT_FRACTIONS

    opts = meta.get("options", {})
    cal = "\n".join(
        f"| {name} | {c['temperature']:.3f} | "
        + ", ".join(f"{k} {v:.2f}" for k, v in c['subset_temperatures'].items())
        + f" | {c['ece_before']:.4f} | {c['ece_global']:.4f} | {c['ece_after']:.4f} |"
        for name, c in meta["calibration"].items())
    hist = "\n".join(f"| {name} | {h['best_epoch']} of {len(h['train_loss'])} | {h['train_loss'][-1]:.4f} | "
                      f"{min(h['val_nll']):.4f} | {h.get('seconds', '-')} |" for name, h in meta["history"].items())
    targets = "\n".join(
        f"| {key} | {t['value']:+.3f}" + (f" (average: {t['average']:+.3f})" if "average" in t else "")
        + f" | {t['target']} | {'met' if t['met'] else '**missed**'} |"
        for key, t in results.get("targets", {}).items())
    ablation = results.get("ablation", {}).get("attention+embeddings")
    att_all = results["rows"].get("attention", {}).get("conditions", {}).get("all", {})
    per_class = ", ".join(f"{k} {v:.2f}" for k, v in att_all.get("per_class_f1", {}).items()) or "-"
    alpha_txt = ", ".join(f"{k} {v:.2f}" for k, v in att_all.get("alpha_mean", {}).items()) or "-"
    if att_all.get("alpha_when_expert_right"):
        alpha_txt += "; when that expert is right vs wrong: " + ", ".join(
            f"{m} {att_all['alpha_when_expert_right'][m]:.2f} vs {att_all['alpha_when_expert_wrong'][m]:.2f}"
            for m in att_all["alpha_mean"] if att_all["alpha_when_expert_right"].get(m) is not None
            and att_all["alpha_when_expert_wrong"].get(m) is not None)
    abl = "" if not ablation else (
        "## Ablation: the experts' embeddings as extra fuser input\n"
        "Same attention fuser, same data and training, plus each expert's embedding (LayerNorm → Linear 32):\n\n"
        "| variant | " + " | ".join(ablation["accuracy"]) + " | ECE | best calibration NLL |\n"
        "|---|" + "---|" * (len(ablation["accuracy"]) + 2) + "\n"
        "| attention (committed, no embeddings) | "
        + " | ".join(f"{results['rows']['attention']['conditions'][c]['accuracy']:.3f}" for c in ablation["accuracy"])
        + f" | {results['rows']['attention']['ece']:.3f} | {min(meta['history']['attention']['val_nll']):.4f} |\n"
        "| attention + embeddings | " + " | ".join(f"{v:.3f}" for v in ablation["accuracy"].values())
        + f" | {ablation['ece']:.3f} | {ablation['best_val_nll']:.4f} |\n\n"
        "The committed fusers leave the embeddings out. Each pool item recurs in hundreds of training pairings\n"
        "(the train split has only 120 voice clips); in development runs with weaker logit noise (σ ≤ 0.5) the\n"
        "embedding variant memorised them (training loss 0.2-0.4 while its calibration NLL rose well above the\n"
        "variant without embeddings). With σ = 1 the two are close and the table above is mixed, so the simpler\n"
        "fuser stays: fewer inputs, and not tied to one version of each expert's embedding.\n")
    return f"""# Fusers: attention (default), concat, transformer; average and max_confidence temperatures

## What these files are
`attention.pt`, `concat.pt`, `transformer.pt`: `{{config, state_dict, temperature, subset_temperatures, fuser}}`
(torch, loads with `weights_only=True` through `fusion.fusers.registry.load_fuser(name)`). `average.pt`,
`max_confidence.pt`: only the fitted temperatures of those parameter-free formulas (they work without them,
uncalibrated).

Attention fuser (main seed): per modality, z = [log-softmax of the expert's logits, its confidence] is projected
to a shared latent space h = tanh(W_m z + b_m); attention scores vᵀ·tanh(W·h + U·q + b), with q the mean of the
present h, are soft-maxed over the modalities present (absent ones get -inf, so α = 0 exactly); fused = Σ α·h;
a label-fusion MLP reads [the three experts' logits (zeros for absent ones), the presence mask, fused] → 7 logits
→ softmax(logits / T). Loss: cross-entropy + a mixture-of-experts term −log Σ α_m p_m(y) (p_m = expert m's own
probabilities), which makes α each expert's learned share in explaining the label; without it α sat at ~0.95 on
voice whatever the input. The "final train loss" of the attention fuser below includes that term.

## Data (held-out pools only; see `fusion/fusion_data.py`)
The experts never trained on these pools: voice = RAVDESS actors 17-20, face = FER-2013 PublicTest (minus images
byte-identical to a FER train image), text = GoEmotions dev{f" (its first {opts['text_rows']} sentences)" if opts.get('text_rows') else ""}. Each expert ran once per item; outputs were cached.
**Synthetic pairing**: except for the ASR-path condition, a multimodal sample is a face, a voice clip and a sentence
drawn independently for the same label (labels uniform over the seven). They are not one person, so the figures say
how well a fuser combines independent evidence, not how people express emotion across channels.
**ASR path** (real): a RAVDESS clip → voice expert on the audio, Whisper ({get_settings().asr_model}) transcript →
text expert; no face (RAVDESS speech has no video here). The words are always one of two neutral sentences.

Splits (no pool item in two splits): voice by actor — train {SPLIT_ACTORS['train']}, calibration
{SPLIT_ACTORS['calib']}, test {SPLIT_ACTORS['test']}; faces and sentences by disjoint label-stratified index sets
({', '.join(f'{k} {v:.0%}' for k, v in SPLIT_FRACTIONS.items())}). Training mixture: {meta['train_samples']} samples =
same-label triples + the train actors' real ASR-path clips (repeated to ~10 %) + corruption augmentation from the
train pools ({opts.get('corruption', '?')} of the triples: noisy voice at {SNR_DB[0]:.0f}-{SNR_DB[1]:.0f} dB SNR
white noise, a face or a sentence of another label) + {opts.get('neutral_words', 0)} of the triples as "neutral words":
a face (half the rows) and a voice clip of the drawn label with a NEUTRAL sentence, labelled with the drawn label
(same-label pairing never shows emotional speech carrying neutral words, which is what the ASR path always is).
With ONE modality present every fuser returns that expert's own distribution (temperature-scaled; the label is
the expert's): `BaseFuser.single_passthrough`.
The training settings (corruption share, logit noise, sizes, learning rate) were picked by a 3-fold rotation
over actors 17-19 with the calibration-split faces and sentences; actor 20 and the test pools played no part.
Modality dropout: each sample loses 0/1/2 of its modalities with p = {DROP_PROBS}, redrawn every epoch, so every
subset is seen. Gaussian noise σ = {opts.get('logit_noise', '?')} on the experts' logits while training.
The calibration split ({meta['calibration_samples']} samples: all three, each one missing, each one alone, ASR path)
selects the epoch (lowest NLL) and fits the temperatures (LBFGS on NLL): a global one and one per set of present
modalities (a fuser is under-confident with one modality and over-confident with three; one scalar cannot fix both). The test split is used for nothing but this table.

## Training
AdamW lr 1e-3, weight decay 1e-2, batch 256, cosine schedule, {opts.get('epochs', '?')} epochs, seed {meta['seed']},
1 torch thread.

| fuser | best epoch | final train loss | best calibration NLL | seconds |
|---|---|---|---|---|
{hist}

## Calibration (temperature scaling, calibration split)
| fuser | global T | T per set of present modalities | ECE at T = 1 | ECE, global T | ECE, T per set |
|---|---|---|---|---|---|
{cal}

## Results (test split: actor {SPLIT_ACTORS['test']}, test faces and sentences)
Cells are accuracy / macro-F1. "best_single_expert" takes, per column, the best expert among those present
(an oracle choice on the test set itself, which favours the baseline). "wrong face"/"wrong words" replace the
face/sentence with one of a different label; "noisy voice" adds white noise at 0-5 dB SNR; "ASR path" is real.
ECE on "all three", at T = 1 and after the fitted temperatures.
```
{table}
```
Noise: the test voice pool is one actor's 60 clips; each synthetic condition redraws from it, so the
all-modalities figures carry the sampling noise of 60 voice clips (the rotating check below averages it out).
Per-class F1 of the attention fuser, all three: {per_class}. Confusion matrix: `attention_all_confusion.png`
(numbers in `attention_all.json`). α of the attention fuser, all three: mean {alpha_txt}.

| target (attention fuser) | measured | wanted | |
|---|---|---|---|
{targets}

{abl}
{cv_section(meta.get("cv"))}
## Reproduce
`{meta['command']}` (seed {meta['seed']}, {meta['minutes']} min on 2 shared CPU cores, 1 torch thread; the experts'
outputs are cached under `~/.cache/emotion-agent/fusion`), then
`emotion-agent eval fusion --voice-data <ravdess_speech_16k> --face-data <fer2013 .npz> --text-data <goemotions dev.tsv>`
prints the same table (add `--json` for one JSON line keyed by fuser).

## Licences
Data: RAVDESS (CC BY-NC-SA 4.0), FER-2013 (research use), GoEmotions (Apache-2.0); no data is stored here.
"""


def cv_section(cv: dict[str, Any] | None) -> str:
    if not cv:
        return ""
    rows = "\n".join(
        f"| {f['test_actor']} | {f['attention']['all']:.3f} | {f['best_single_expert']['all']:.3f} | "
        f"{f['average']['all']:.3f} | {f['attention']['asr']:.3f} | {f['best_single_expert']['asr']:.3f} | "
        f"{f['attention_ece_all']:.3f} |" for f in cv["folds"])
    m = cv["mean"]
    return f"""## Rotating actor-held-out check (attention only; accuracy)
Each of actors 17-20 is the test actor once (the next one calibrates, the other two train); faces and
sentences keep their fixed splits. The committed weights are the fixed split above.

| test actor | attention, all three | best expert, all three | average, all three | attention, ASR path | best expert, ASR path | attention ECE |
|---|---|---|---|---|---|---|
{rows}
| mean | {m['attention']['all']:.3f} | {m['best_single_expert']['all']:.3f} | {m['average']['all']:.3f} | {m['attention']['asr']:.3f} | {m['best_single_expert']['asr']:.3f} | {cv['attention_ece_all_mean']:.3f} |
"""


def overfit_steps(model: Any, batch: FusionBatch, y: torch.Tensor, steps: int = 50, lr: float = 1e-2) -> list[float]:
    """Plain full-batch steps without dropout of modalities; the losses (for tests and smoke checks)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses: list[float] = []
    clean = batch.sanitized()
    for _ in range(steps):
        loss = model.training_loss(clean, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses
