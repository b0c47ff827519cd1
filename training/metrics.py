"""Classification metrics and reports shared by every expert and fuser.

Reports are plain dicts (JSON-ready): accuracy, macro-F1, per-class F1, confusion matrix, ECE.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.core.labels import LABELS, NUM_LABELS


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int = NUM_LABELS) -> np.ndarray:
    """Rows are true labels, columns predictions; shape (n, n), int."""
    mat = np.zeros((n, n), dtype=np.int64)
    np.add.at(mat, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return mat


def per_class_f1(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    precision = np.divide(tp, cm.sum(axis=0), out=np.zeros_like(tp), where=cm.sum(axis=0) > 0)
    recall = np.divide(tp, cm.sum(axis=1), out=np.zeros_like(tp), where=cm.sum(axis=1) > 0)
    denom = precision + recall
    return np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, present_only: bool = True) -> float:
    """Mean F1 over classes; with ``present_only`` over the classes that occur in ``y_true``."""
    cm = confusion(y_true, y_pred)
    f1 = per_class_f1(cm)
    if present_only:
        mask = cm.sum(axis=1) > 0
        return float(f1[mask].mean()) if mask.any() else 0.0
    return float(f1.mean())


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Per-class F1 averaged with each class's support in ``y_true`` as its weight (sklearn's ``weighted``)."""
    cm = confusion(y_true, y_pred)
    support = cm.sum(axis=1)
    return float((per_class_f1(cm) * support).sum() / support.sum()) if support.sum() else 0.0


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins over the top-1 probability."""
    probs = np.asarray(probs, dtype=np.float64)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(y_true)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(conf[in_bin].mean() - correct[in_bin].mean())
    return float(ece)


def classification_report(probs: np.ndarray, y_true: np.ndarray) -> dict[str, Any]:
    """All figures for one model on one set. ``probs``: (n, 7); ``y_true``: (n,) label indices."""
    probs = np.asarray(probs)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = probs.argmax(axis=1)
    cm = confusion(y_true, y_pred)
    f1 = per_class_f1(cm)
    return {
        "n": len(y_true),
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": macro_f1(y_true, y_pred),
        "weighted_f1": weighted_f1(y_true, y_pred),
        "per_class_f1": {name: round(float(v), 4) for name, v in zip(LABELS, f1, strict=True)},
        "support": {name: int(v) for name, v in zip(LABELS, cm.sum(axis=1), strict=True)},
        "ece": expected_calibration_error(probs, y_true),
        "confusion": cm.tolist(),
        "labels": list(LABELS),
    }


def format_report(report: dict[str, Any], title: str = "") -> str:
    lines = []
    if title:
        lines.append(title)
    lines.append(
        f"n={report['n']}  accuracy={report['accuracy']:.4f}  macro_f1={report['macro_f1']:.4f}  "
        f"ece={report['ece']:.4f}"
    )
    lines.append("per-class F1: " + "  ".join(f"{k}={v:.3f}" for k, v in report["per_class_f1"].items()))
    header = "true\\pred  " + " ".join(f"{name[:5]:>6}" for name in LABELS)
    lines.append(header)
    for name, row in zip(LABELS, report["confusion"], strict=True):
        lines.append(f"{name[:9]:<10} " + " ".join(f"{v:>6d}" for v in row))
    return "\n".join(lines)


def save_report(report: dict[str, Any], out_dir: Path, stem: str, title: str = "") -> tuple[Path, Path]:
    """Write ``<stem>.json`` and a confusion-matrix ``<stem>_confusion.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(report, indent=2))
    cm = np.asarray(report["confusion"], dtype=np.float64)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(NUM_LABELS), LABELS, rotation=45, ha="right")
    ax.set_yticks(range(NUM_LABELS), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(NUM_LABELS):
        for j in range(NUM_LABELS):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title or f"{stem}: acc {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    png_path = out_dir / f"{stem}_confusion.png"
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return json_path, png_path
