"""Face-expression expert: grayscale face crops → scores over the seven labels.

The network is a mini-Xception (Arriaga et al. 2017) rebuilt in torch from its Keras graph
(:mod:`fusion.experts.face_nets`) and fine-tuned here on FER-2013 (``face_train``).  Inputs are
resized to the model's square input (48 or 64 px) and scaled to [-1, 1]; outputs come in the
checkpoint's ``class_order`` (FER-2013 order) and are permuted to ``labels.LABELS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from emotion_agent.core.events import ExpertScores, FaceCrop, Modality
from emotion_agent.core.labels import FER_CLASS_ORDER, FER_TO_LABEL, LABEL_INDEX, LABELS, NUM_LABELS
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.settings import get_settings
from emotion_agent.fusion.experts.base import (
    checkpoint_file,
    load_checkpoint,
    make_scores,
    save_checkpoint,
    softmax,
)
from emotion_agent.fusion.experts.face_nets import KerasConversionError, KerasGraphNet

# A face this many pixels wide (or more) counts as full quality; smaller crops are blurrier
# upscales of few pixels, so their confidence is scaled down linearly.
FULL_QUALITY_SIZE = 96
MIN_CROP_SIZE = 8


def class_permutation(class_order: Sequence[str]) -> np.ndarray:
    """Indices ``p`` with ``logits_ours = logits_model[..., p]`` (model order → ``LABELS``)."""
    names = [FER_TO_LABEL.get(name, name) for name in class_order]
    if sorted(names) != sorted(LABELS):
        raise ModelNotFoundError(f"face model classes {list(class_order)} do not map onto {list(LABELS)}")
    return np.array([names.index(label) for label in LABELS], dtype=np.int64)


def to_model_input(images: Sequence[np.ndarray] | np.ndarray, size: int) -> np.ndarray:
    """Gray uint8 images (any h, w) → float32 (n, 1, size, size) in [-1, 1] (the Keras v2 scaling)."""
    out = np.empty((len(images), 1, size, size), dtype=np.float32)
    for i, img in enumerate(images):
        arr = np.asarray(img)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.ndim != 2 or arr.shape[0] < MIN_CROP_SIZE or arr.shape[1] < MIN_CROP_SIZE:
            raise ValueError(f"face image {i}: expected gray (h, w) with h, w >= {MIN_CROP_SIZE}, "
                             f"got shape {arr.shape}")
        if arr.dtype != np.uint8:
            raise ValueError(f"face image {i}: expected uint8 pixels, got {arr.dtype}")
        if arr.shape != (size, size):
            # Area averaging when shrinking avoids aliasing; bilinear when enlarging (as in training).
            interp = cv2.INTER_AREA if min(arr.shape) > size else cv2.INTER_LINEAR
            arr = cv2.resize(arr, (size, size), interpolation=interp)
        out[i, 0] = arr
    return out / 127.5 - 1.0


class FaceExpert:
    """Implements ``emotion_agent.core.protocols.Expert`` for face crops."""

    modality: Modality = "face"

    def __init__(self, net: KerasGraphNet, class_order: Sequence[str] = FER_CLASS_ORDER,
                 temperature: float = 1.0, tta_flip: bool = True, threads: int | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        self.net = net.eval()
        self.class_order = tuple(class_order)
        self._perm = class_permutation(self.class_order)
        self.temperature = float(temperature)
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.tta_flip = tta_flip
        self.threads = threads if threads is not None else get_settings().torch_threads
        self.embedding_dim = int(net.embedding_dim)
        self.input_size = net.input_size
        self.meta = dict(meta or {})
        self._lock = threading.Lock()  # torch thread caps are process-wide; serialise forwards

    # ---------------------------------------------------------------- loading / saving
    @classmethod
    def load(cls, spec: str | Path | None = None, **kw: Any) -> FaceExpert:
        """Load ``model.pt`` from a folder or file (default ``settings.face_expert``)."""
        path = checkpoint_file(spec if spec is not None else get_settings().face_expert)
        ckpt = load_checkpoint(path)
        config = ckpt["config"]
        try:
            net = KerasGraphNet(config)
            net.load_state_dict(ckpt["state_dict"])
        except (KerasConversionError, KeyError, RuntimeError, TypeError) as exc:
            raise ModelNotFoundError(f"{path}: not a face-expert checkpoint ({type(exc).__name__}: {exc})") from exc
        extra = {k: v for k, v in ckpt.items() if k not in ("config", "state_dict")}
        return cls(net, class_order=config.get("class_order", FER_CLASS_ORDER),
                   temperature=float(config.get("temperature", 1.0)),
                   tta_flip=bool(config.get("tta_flip", True)), meta=extra, **kw)

    def save(self, path: Path, **extra: Any) -> None:
        config = {**self.net.config, "class_order": list(self.class_order),
                  "temperature": self.temperature, "tta_flip": self.tta_flip}
        save_checkpoint(path, config, self.net.state_dict(), **extra)

    # ---------------------------------------------------------------- inference
    def _forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 1, s, s) → logits (n, 7) in ``LABELS`` order / temperature, embeddings (n, d)."""
        x = torch.from_numpy(batch)
        with self._lock, torch.inference_mode():
            before = torch.get_num_threads()
            torch.set_num_threads(max(1, self.threads))
            try:
                logits, emb = self.net(x)
                if self.tta_flip:  # mirror-averaged logits: faces are (nearly) symmetric
                    logits_f, emb_f = self.net(torch.flip(x, dims=[-1]))
                    logits, emb = (logits + logits_f) / 2, (emb + emb_f) / 2
            finally:
                torch.set_num_threads(before)
        out = logits.numpy()[:, self._perm] / self.temperature
        return out.astype(np.float32), emb.numpy().astype(np.float32)

    def logits_images(self, images: Sequence[np.ndarray] | np.ndarray,
                      batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Gray uint8 images → (logits (n, 7), embeddings (n, d)), batched."""
        if len(images) == 0:
            return np.zeros((0, NUM_LABELS), np.float32), np.zeros((0, self.embedding_dim), np.float32)
        logits, embs = [], []
        for start in range(0, len(images), batch_size):
            lg, em = self._forward(to_model_input(images[start:start + batch_size], self.input_size))
            logits.append(lg)
            embs.append(em)
        return np.concatenate(logits), np.concatenate(embs)

    def predict_images(self, images: np.ndarray | Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """Gray uint8 images, e.g. (n, 48, 48) → probabilities (n, 7) in ``LABELS`` order."""
        if isinstance(images, np.ndarray) and images.ndim != 3:
            raise ValueError(f"expected images of shape (n, h, w), got {images.shape}")
        logits, _ = self.logits_images(images, batch_size)
        return softmax(logits)

    @staticmethod
    def _quality(crops: Sequence[FaceCrop]) -> float:
        size = float(np.mean([min(c.image.shape[:2]) for c in crops]))
        score = float(np.mean([np.clip(c.score, 0.0, 1.0) for c in crops]))
        return float(np.clip(size / FULL_QUALITY_SIZE, 0.0, 1.0) * score)

    def _check(self, crops: Sequence[FaceCrop]) -> None:
        if isinstance(crops, FaceCrop):
            raise TypeError("predict takes a sequence of FaceCrop, not a single crop")
        if len(crops) == 0:
            raise ValueError("no face crops in window")
        for crop in crops:
            if not isinstance(crop, FaceCrop):
                raise TypeError(f"expected FaceCrop, got {type(crop).__name__}")

    def predict(self, window: Sequence[FaceCrop]) -> ExpertScores:
        """One window of crops → scores; the window's logits are the mean of per-crop logits."""
        started = time.perf_counter()
        self._check(window)
        logits, emb = self.logits_images([c.image for c in window])
        return make_scores("face", logits.mean(axis=0), emb.mean(axis=0), started, self._quality(window))

    def predict_many(self, windows: Sequence[Sequence[FaceCrop]]) -> list[ExpertScores]:
        """Many windows in one batched forward pass; same results as calling ``predict`` on each."""
        started = time.perf_counter()
        for window in windows:
            self._check(window)
        flat = [c.image for window in windows for c in window]
        logits, emb = self.logits_images(flat)
        out: list[ExpertScores] = []
        pos = 0
        for window in windows:
            n = len(window)
            out.append(make_scores("face", logits[pos:pos + n].mean(axis=0), emb[pos:pos + n].mean(axis=0),
                                   started, self._quality(window)))
            pos += n
        return out


__all__ = ["LABEL_INDEX", "FaceExpert", "class_permutation", "to_model_input"]
