"""Train and evaluate the face expert on FER-2013.

Recipe: convert a mini-Xception Keras HDF5 (MIT, ``settings.shared_models_dir``) to torch, then
fine-tune it on FER-2013 *train* with augmentation (random affine: rotation, scale, shift; mirror;
brightness/contrast), label smoothing, AdamW and a cosine schedule.  A held-out slice of train
(10%, split by image hash so identical duplicates stay on one side) picks the epoch and fits a
temperature; PublicTest is touched only for the final figures.

    emotion-agent train face --epochs 12            # or: python -m training.face_train
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from emotion_agent.core.labels import FER_CLASS_ORDER, NUM_LABELS
from emotion_agent.core.settings import WEIGHTS_DIR, get_settings
from emotion_agent.fusion.experts.base import write_json
from emotion_agent.fusion.experts.face import FaceExpert, class_permutation, to_model_input
from emotion_agent.fusion.experts.face_nets import KerasGraphNet, convert_keras_h5
from emotion_agent.training.calibration import fit_temperature
from emotion_agent.training.cli_support import add_expert_eval_args, command_line, print_expert_eval
from emotion_agent.training.datasets import load_fer
from emotion_agent.training.metrics import classification_report, format_report, save_report

FER_FILE = Path("fer2013") / "fer2013_train_publictest.npz"
DEFAULT_BASE = "fer2013_mini_XCEPTION.119-0.65.hdf5"
BASELINE_FILE = "fer2013_mini_XCEPTION.102-0.66.hdf5"


def fer_npz(data: str | Path | None) -> Path:
    """The FER .npz from a file path or a data folder (default ``settings.data_dir``)."""
    path = Path(data) if data is not None else get_settings().data_dir
    if path.is_dir():
        path = path / FER_FILE if (path / FER_FILE).exists() else path / FER_FILE.name
    if not path.exists():
        raise FileNotFoundError(f"FER-2013 npz not found at {path} (pass --data)")
    return path


def image_hashes(images: np.ndarray) -> list[str]:
    return [hashlib.md5(img.tobytes()).hexdigest() for img in images]


def holdout_mask(images: np.ndarray, frac: float = 0.1) -> np.ndarray:
    """Bool (n,): a deterministic held-out slice chosen by image hash (duplicates share a side)."""
    buckets = np.array([int(h[:8], 16) % 1000 for h in image_hashes(images)])
    return buckets < round(frac * 1000)


def duplicate_of_train(test_images: np.ndarray, train_images: np.ndarray) -> np.ndarray:
    """Bool (n_test,): the test image has a byte-identical copy in train (see the data SOURCE.txt)."""
    seen = set(image_hashes(train_images))
    return np.array([h in seen for h in image_hashes(test_images)])


def augment(x: torch.Tensor, gen: torch.Generator, max_rot: float = 10.0, max_shift: float = 0.08,
            scale: tuple[float, float] = (0.9, 1.1)) -> torch.Tensor:
    """Random affine (rotation ± ``max_rot``°, shift, zoom), mirror and brightness/contrast.

    ``x``: (n, 1, s, s) in [-1, 1]; one batched ``grid_sample``, so it costs little next to the net.
    """
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    angle = uniform(-max_rot, max_rot) * math.pi / 180
    zoom = uniform(*scale)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, 0, 2], theta[:, 1, 2] = uniform(-max_shift, max_shift) * 2, uniform(-max_shift, max_shift) * 2
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = uniform(0.8, 1.2).view(n, 1, 1, 1)
    bright = uniform(-0.15, 0.15).view(n, 1, 1, 1)
    return (out * contrast + bright).clamp(-1.0, 1.0)


def _eval_logits(net: KerasGraphNet, images: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Flip-averaged logits in LABELS order for gray images (n, h, w)."""
    expert = FaceExpert(net, FER_CLASS_ORDER, temperature=1.0, tta_flip=True, threads=1)
    logits, _ = expert.logits_images(images)
    net.eval()
    return logits


def train_memory_format(net: torch.nn.Module) -> torch.memory_format:
    """channels_last trains mini-Xception ~1.7x faster on CPU, but torch 2.13's CPU backward of a
    strided 1×1 conv corrupts the heap for channel counts that are not multiples of 8 (seen with
    4→6 channels; gradients checked equal for the real 8..128 widths), so fall back to contiguous."""
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1]
    if all(m.in_channels % 8 == 0 and m.out_channels % 8 == 0 for m in convs):
        return torch.channels_last
    return torch.contiguous_format


def train(net: KerasGraphNet, x_train: np.ndarray, y_train_fer: np.ndarray, x_hold: np.ndarray,
          y_hold: np.ndarray, args: argparse.Namespace) -> tuple[KerasGraphNet, list[dict[str, float]]]:
    """Fine-tune ``net`` (labels in FER order); keep the epoch with the best held-out accuracy."""
    from tqdm import tqdm

    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    perm = class_permutation(FER_CLASS_ORDER)
    xt = torch.from_numpy(to_model_input(x_train, net.input_size))
    yt = torch.from_numpy(y_train_fer.astype(np.int64))
    fmt = train_memory_format(net)
    net = net.to(memory_format=fmt)  # type: ignore[call-overload]
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(xt) / args.batch_size)
    total = args.epochs * steps_per_epoch
    warmup = steps_per_epoch // 2

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return args.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    history: list[dict[str, float]] = []
    best_acc, best_state = -1.0, {k: v.clone() for k, v in net.state_dict().items()}
    step = 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        started, loss_sum, seen = time.time(), 0.0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{args.epochs}", mininterval=10,
                   file=sys.stdout)
        for b in bar:
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            xb = augment(xt[idx], gen).contiguous(memory_format=fmt)
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            logits, _ = net(xb)
            loss = F.cross_entropy(logits, yt[idx], label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss.detach()) * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", refresh=False)
        hold_logits = _eval_logits(net, x_hold, perm)
        acc = float((hold_logits.argmax(1) == y_hold).mean())
        history.append({"epoch": epoch, "train_loss": loss_sum / seen, "holdout_acc": acc,
                        "seconds": time.time() - started})
        print(f"epoch {epoch}: train loss {loss_sum / seen:.4f}  held-out acc {acc:.4f}  "
              f"({time.time() - started:.0f} s)", flush=True)
        if acc > best_acc:
            best_acc, best_state = acc, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    return net.to(memory_format=torch.contiguous_format).eval(), history  # type: ignore[call-overload]


def latency_line(expert: FaceExpert, images: np.ndarray, repeats: int = 30) -> str:
    """Median wall time of ``predict`` on one window of 1 and of 4 crops (1 torch thread)."""
    from emotion_agent.core.events import FaceCrop

    crops = [FaceCrop(image=img, box=(0, 0, img.shape[1], img.shape[0]), timestamp=0.0) for img in images[:4]]
    times = {}
    for n in (1, 4):
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            expert.predict(crops[:n])
            runs.append((time.perf_counter() - started) * 1000)
        times[n] = float(np.median(runs))
    return (f"Latency (`predict`, mirror TTA, 1 thread, shared CPU): {times[1]:.1f} ms for a 1-crop window, "
            f"{times[4]:.1f} ms for 4 crops (median of {repeats}).")


def _fer_order_labels(y_ours: np.ndarray) -> np.ndarray:
    """Our label indices → FER class indices (the network's output order)."""
    perm = class_permutation(FER_CLASS_ORDER)  # ours[i] = fer[perm[i]]
    return perm[y_ours]


def eval_data(data: Path, model: str | None = None, split: str | None = "PublicTest") -> tuple[np.ndarray, np.ndarray]:
    """(probs (n, 7), y_true (n,)) on the rows of ``split`` (``None``: every row) of the FER-format npz
    at ``data`` (an npz file or a data folder holding ``fer2013/``)."""
    images, y = load_fer(fer_npz(data), split)
    expert = FaceExpert.load(model)
    return expert.predict_images(images), y


def build_eval_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """``emotion-agent eval face``: score the face expert on a FER-format npz (all rows or one split)."""
    parser = parser or argparse.ArgumentParser(prog="emotion-agent eval face", description=build_eval_parser.__doc__)
    add_expert_eval_args(parser, "FER-format .npz (images (n, 48, 48) uint8, labels, optional split) "
                                 "or the data folder holding fer2013/")
    parser.add_argument("--split", default=None, metavar="NAME",
                        help="only rows whose split column is NAME, e.g. PublicTest (= validation), "
                             "PrivateTest (= test), train (default: every row)")
    return parser


def run_eval(args: argparse.Namespace) -> int:
    probs, y = eval_data(args.data, args.model, args.split)
    which = "all rows" if args.split is None else f"split {args.split}"
    print_expert_eval("face", f"face expert on {args.data} ({which})", probs, y, args)
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    return run_eval(build_eval_parser().parse_args(argv))


def _row(name: str, rep: dict[str, Any]) -> str:
    return f"| {name} | {rep['n']} | {rep['accuracy']:.4f} | {rep['macro_f1']:.4f} | {rep['ece']:.4f} |"


def write_model_card(out: Path, results: dict[str, Any]) -> None:
    """MODEL_CARD.md from measured figures (no number in it is typed by hand)."""
    r = results
    hist = "\n".join(f"| {h['epoch']} | {h['train_loss']:.4f} | {h['holdout_acc']:.4f} | {h['seconds']:.0f} |"
                     for h in r["history"])
    per_class = " ".join(f"{k} {v:.3f}," for k, v in r["trained"]["per_class_f1"].items()).rstrip(",")
    text = f"""# Face expert: mini-Xception fine-tuned on FER-2013

**Task.** Facial expression over the seven labels (`neutral, happy, sad, angry, fearful, disgusted,
surprised`) from a grayscale face crop (any size; resized to {r['input_size']}×{r['input_size']}, scaled to [-1, 1]).
Per window, the expert averages per-crop logits; test-time mirror averaging is on.

## Data and split
* FER-2013 (Goodfellow et al. 2013), image-folder copy in `data/fer2013/fer2013_train_publictest.npz`
  (JPEG re-encoded, so pixels differ slightly from the original CSV).  Licence: none stated, research
  only; not redistributed here.
* Training: FER-2013 *Training* minus a held-out slice of {r['n_holdout']} images ({r['holdout_frac']:.0%},
  chosen by image hash so byte-identical duplicates stay on one side) → {r['n_train']} images.
  The held-out slice picked the epoch and fitted the temperature (T = {r['temperature']:.3f}).
  It is not clean for the *initial* weights: the MIT model was trained on all of Training, so the
  held-out figures below are optimistic and only used to compare epochs of this run.
* Reported set: FER-2013 *PublicTest* ({r['trained']['n']} images), not used for any choice.
  **Caveat:** FER-2013 has exact duplicates across splits; {r['n_dup']} PublicTest images have a
  byte-identical copy in Training, so the table also gives the figures without them.
* Baseline caveat: the MIT mini-Xception was trained on the first 80% of `fer2013.csv` (= Training)
  and its checkpoint chosen on the last 20% (PublicTest + PrivateTest), so its PublicTest figure is
  slightly optimistic.

## Architecture and training
* mini-Xception (Arriaga, Ploger, Valdenegro 2017): 2 conv + 4 residual depthwise-separable blocks,
  1×1 classifier conv, global average pooling; {r['params']} parameters.  Embedding = the
  {r['embedding_dim']}-d global average of the last feature map (before the classifier conv).
* Initialised from `{r['base']}` converted from Keras HDF5 by `fusion/experts/face_nets.py`
  (graph interpreter matching TF `same` padding, BatchNorm eps 1e-3, separable = depthwise + pointwise).
* Fine-tuning: {r['epochs']} epochs, batch {r['batch_size']}, AdamW (lr {r['lr']}, weight decay {r['weight_decay']}),
  half-epoch warm-up then cosine decay, label smoothing {r['label_smoothing']}, augmentation: rotation ±10°, zoom
  0.9–1.1, shift ±8%, mirror, brightness ±0.15, contrast 0.8–1.2.  1 torch thread, seed {r['seed']}; took
  {r['train_minutes']:.1f} min on a shared 2-core CPU.

| epoch | train loss | held-out acc (flip TTA) | s |
|---|---|---|---|
{hist}

## Results on FER-2013 PublicTest
| model | n | accuracy | macro-F1 | ECE |
|---|---|---|---|---|
{_row("converted mini-Xception 64×64 (`" + BASELINE_FILE + "`), as is", r["baseline"])}
{_row("converted mini-Xception 64×64, as is, mirror TTA", r["baseline_tta"])}
{_row("converted `" + r['base'] + "`, as is, mirror TTA", r["base_tta"])}
{_row("**this model** (fine-tuned, mirror TTA, temperature)", r["trained"])}
{_row("this model, PublicTest without train duplicates", r["trained_dedup"])}
{_row("converted mini-Xception 64×64, without train duplicates", r["baseline_dedup"])}

Per-class F1 (this model): {per_class}.  Confusion matrix: `report_confusion.png`, numbers in
`report.json`; baseline in `baseline_report.json`.  The target of 70% (near the published state of
the art, ~73% with large nets on GPUs) was {"met" if r['trained']['accuracy'] >= 0.70 else "not met"}.

## Use
`FaceExpert.load()` reads `model.pt` here; crops come from `perception.faces.FaceDetector` (OpenCV
Haar frontal-face cascade, square box + 10% margin, gray).  FER crops are tighter than Haar boxes,
so live crops carry a little more context than the training images.
{r.get('latency_line', '')}

## Reproduce
```
{r['command']}
```
Reads `{BASELINE_FILE}` and `{r['base']}` from `settings.shared_models_dir`
(`../shared/models/face_classification`); the converted third-party weights are not committed.

## Licence lineage
Initial weights: oarriaga/face_classification (MIT, © 2017 Octavio Arriaga); the fine-tuned weights
in `model.pt` are a derivative and stay MIT.  Training data FER-2013 has no explicit licence
(research/Kaggle challenge): treat the model as research-grade.
"""
    (out / "MODEL_CARD.md").write_text(text)


def train_main(argv: list[str] | None = None) -> int:
    return run_train(build_train_parser().parse_args(argv), argv)


def build_train_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent train face", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="FER npz or data folder")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR / "face", help="output folder (default: %(default)s)")
    parser.add_argument("--models", type=Path, default=None, help="folder of the Keras HDF5 files")
    parser.add_argument("--base", default=DEFAULT_BASE, help="HDF5 to start from (file in --models or path)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--holdout-frac", type=float, default=0.1)
    parser.add_argument("--max-train", type=int, default=None, help="subsample train (smoke tests)")
    parser.add_argument("--card-only", action="store_true",
                        help="rewrite MODEL_CARD.md from <out>/training.json without training")
    return parser


def run_train(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Train from parsed options; ``argv`` (the options as given) is recorded as the command."""
    if args.card_only:
        saved = json.loads((args.out / "training.json").read_text())
        write_model_card(args.out, saved)
        print(f"wrote {args.out / 'MODEL_CARD.md'}")
        return 0
    torch.set_num_threads(1)

    models = args.models or get_settings().shared_models_dir / "face_classification"
    base_path = Path(args.base) if Path(args.base).exists() else models / args.base
    npz = fer_npz(args.data)
    x_all, y_all = load_fer(npz, "train")
    x_test, y_test = load_fer(npz, "PublicTest")
    hold = holdout_mask(x_all, args.holdout_frac)
    x_tr, y_tr, x_ho, y_ho = x_all[~hold], y_all[~hold], x_all[hold], y_all[hold]
    if args.max_train:
        pick = np.random.default_rng(args.seed).permutation(len(x_tr))[:args.max_train]
        x_tr, y_tr = x_tr[pick], y_tr[pick]
    dup = duplicate_of_train(x_test, x_all)
    print(f"train {len(x_tr)}  held-out {len(x_ho)}  PublicTest {len(x_test)} ({int(dup.sum())} duplicated in train)")

    results: dict[str, Any] = {"n_train": len(x_tr), "n_holdout": len(x_ho), "n_dup": int(dup.sum()),
                               "holdout_frac": args.holdout_frac, "base": base_path.name}
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    baseline_file = models / BASELINE_FILE
    if baseline_file.exists():
        bnet, _ = convert_keras_h5(baseline_file)
        for tta in (False, True):
            probs = FaceExpert(bnet, FER_CLASS_ORDER, tta_flip=tta, threads=1).predict_images(x_test)
            results["baseline_tta" if tta else "baseline"] = classification_report(probs, y_test)
            if not tta:
                results["baseline_dedup"] = classification_report(probs[~dup], y_test[~dup])
                save_report(results["baseline"], out, "baseline_report",
                            title=f"converted {BASELINE_FILE} on PublicTest")
        print(format_report(results["baseline"], "baseline (converted, no TTA) on PublicTest"))
    net, _config = convert_keras_h5(base_path)
    results["base_tta"] = classification_report(
        FaceExpert(net, FER_CLASS_ORDER, threads=1).predict_images(x_test), y_test)

    started = time.time()
    net, history = train(net, x_tr, _fer_order_labels(y_tr), x_ho, y_ho, args)
    results["train_minutes"] = (time.time() - started) / 60
    temperature = fit_temperature(_eval_logits(net, x_ho, class_permutation(FER_CLASS_ORDER)), y_ho)
    expert = FaceExpert(net, FER_CLASS_ORDER, temperature=temperature, tta_flip=True, threads=1)
    command = command_line("train", "face", argv)
    expert.save(out / "model.pt", history=history)
    reloaded = FaceExpert.load(out)
    probs = reloaded.predict_images(x_test)
    results["latency_line"] = latency_line(reloaded, x_test)
    results.update(
        trained=classification_report(probs, y_test),
        trained_dedup=classification_report(probs[~dup], y_test[~dup]),
        history=history, temperature=temperature, input_size=net.input_size,
        embedding_dim=net.embedding_dim, params=sum(p.numel() for p in net.parameters()),
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing, seed=args.seed, command=command,
    )
    save_report(results["trained"], out, "report", title="face expert on FER-2013 PublicTest")
    write_json(out / "training.json", {k: v for k, v in results.items()})
    if "baseline" in results:
        write_model_card(out, results)
    print(format_report(results["trained"], "face expert (fine-tuned) on PublicTest"))
    print(f"without train duplicates: acc {results['trained_dedup']['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(train_main())


__all__ = ["NUM_LABELS", "build_eval_parser", "build_train_parser", "eval_data", "eval_main", "run_eval",
           "run_train", "train_main"]
