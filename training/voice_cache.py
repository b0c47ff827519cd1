"""Training-time voice features: Whisper encoder states and log-mel per clip, cached on disk, and
the from-scratch log-mel CNN+LSTM baseline the model card compares against.

Log-mel is ``(N_MELS, n_frames)`` with one frame per 10 ms.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from faster_whisper.feature_extractor import FeatureExtractor
from torch.nn import functional as F
from tqdm import tqdm

from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.perception.decode import read_audio
from emotion_agent.perception.transcribe import encode_audio
from emotion_agent.training.datasets import Clip
from emotion_agent.training.metrics import macro_f1

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

N_MELS = 80


def cache_dir() -> Path:
    """Where extracted features are cached (never the repo): ``$EMOTION_AGENT_CACHE`` or ~/.cache."""
    root = os.environ.get("EMOTION_AGENT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "emotion-agent" / "voice"


# --- log-mel / MFCC (the CNN baseline) -----------------------------------------------------------

_mel_extractor = None


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper-style log-mel spectrogram of ``audio``: float32 ``(N_MELS, n_frames)``, 10 ms hop.

    Uses faster-whisper's numpy feature extractor, so no extra audio library is needed.
    """
    global _mel_extractor
    if _mel_extractor is None:
        _mel_extractor = FeatureExtractor(feature_size=N_MELS)
    feats = np.asarray(_mel_extractor(audio.astype(np.float32)), dtype=np.float32)
    return feats[:, : max(1, audio.size // 160)]


# --- caches ---------------------------------------------------------------------------------------

def _clips_key(clips: Sequence[Clip], tag: str) -> str:
    h = hashlib.sha1(tag.encode())
    for c in clips:
        h.update(f"{c.path}|{c.path.stat().st_size}|{c.label}\n".encode())
    return h.hexdigest()[:16]


def _save_ragged(path: Path, arrays: Sequence[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    payload: dict[str, Any] = {f"a{i}": a for i, a in enumerate(arrays)}
    np.savez(tmp, count=np.array(len(arrays)), **payload)
    tmp.replace(path)


def _load_ragged(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        n = int(data["count"])
        return [data[f"a{i}"] for i in range(n)]


def cached_features(clips: Sequence[Clip], tag: str, fn: Callable[[np.ndarray], np.ndarray],
                    progress: bool = True) -> list[np.ndarray]:
    """``fn(read_audio(clip))`` for every clip, cached in ``cache_dir()`` under ``tag`` + clip list."""
    path = cache_dir() / f"{tag}-{_clips_key(clips, tag)}.npz"
    if path.exists():
        return _load_ragged(path)
    out: list[np.ndarray] = []
    started = time.perf_counter()
    for clip in tqdm(clips, desc=f"features {tag}", disable=not progress, mininterval=5.0):
        out.append(np.asarray(fn(read_audio(clip.path)), dtype=np.float32))
    _save_ragged(path, out)
    if progress:
        print(f"cached {len(out)} {tag} features in {time.perf_counter() - started:.0f}s → {path}")
    return out


def whisper_states(model: WhisperModel, clips: Sequence[Clip], spec: str,
                   progress: bool = True) -> list[np.ndarray]:
    """Encoder states ``(n_frames, d_model)`` per clip, cached per Whisper model spec."""
    tag = "whisper-" + hashlib.sha1(spec.encode()).hexdigest()[:8]
    return cached_features(clips, tag, lambda a: encode_audio(model, a), progress=progress)


# --- the comparison baseline: log-mel CNN+LSTM from scratch (the seeds' approach) -----------------

MEL_FRAMES = 400
"""Log-mel frames per example (4 s at 10 ms); shorter clips are padded, longer centre-cropped."""
MEL_CROP = 320
"""Random training crop (3.2 s)."""
MEL_EPOCHS = 20


class MelCnnLstm(torch.nn.Module):
    """Log-mel ``(b, 1, 80, t)`` → 2×2 average pool → 3 conv blocks → BiLSTM → mean pool → 7 logits.

    The input pooling (to 20 ms × 2 mel bins) keeps training within minutes on one CPU thread.
    """

    def __init__(self, n_mels: int = 80, channels: tuple[int, ...] = (16, 32, 32), lstm: int = 64) -> None:
        super().__init__()
        nn = torch.nn
        layers: list[torch.nn.Module] = [nn.AvgPool2d(2)]
        c_in = 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.conv = nn.Sequential(*layers)
        freq = n_mels // 2 ** (len(channels) + 1)
        self.lstm = nn.LSTM(c_in * freq, lstm, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(2 * lstm, NUM_LABELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)                                  # (b, c, f, t')
        h = h.flatten(1, 2).transpose(1, 2)               # (b, t', c·f)
        h, _ = self.lstm(h)
        return self.out(self.drop(h.mean(1)))


def fix_length(mel: np.ndarray, frames: int = MEL_FRAMES) -> np.ndarray:
    if mel.shape[1] >= frames:
        start = (mel.shape[1] - frames) // 2
        return mel[:, start : start + frames]
    return np.pad(mel, ((0, 0), (0, frames - mel.shape[1])), constant_values=float(mel.min()))


def train_mel_cnn(mels: np.ndarray, y: np.ndarray, epochs: int, seed: int,
                  val: tuple[np.ndarray, np.ndarray] | None = None,
                  progress: bool = True) -> tuple[MelCnnLstm, list[dict[str, float]]]:
    """Train the baseline on fixed-length log-mels ``(n, 80, MEL_FRAMES)`` with random crops."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = MelCnnLstm()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-2)
    history: list[dict[str, float]] = []
    for epoch in tqdm(range(epochs), desc="mel cnn", disable=not progress, mininterval=5.0):
        net.train()
        order = rng.permutation(len(y))
        for i in range(0, len(y), 32):
            idx = order[i : i + 32]
            starts = rng.integers(0, MEL_FRAMES - MEL_CROP + 1, len(idx))
            x = np.stack([mels[j][:, s : s + MEL_CROP] for j, s in zip(idx, starts, strict=True)])
            loss = F.cross_entropy(net(torch.from_numpy(x)[:, None]), torch.from_numpy(y[idx]),
                                   label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if val is not None:
            pred = mel_logits(net, val[0]).argmax(1)
            history.append({"epoch": epoch + 1, "val_acc": float((pred == val[1]).mean()),
                            "val_f1": macro_f1(val[1], pred)})
    return net, history


def mel_logits(net: MelCnnLstm, mels: np.ndarray) -> np.ndarray:
    net.eval()
    with torch.inference_mode():
        return np.concatenate([net(torch.from_numpy(mels[i : i + 64])[:, None]).numpy()
                               for i in range(0, len(mels), 64)])
