"""Fusion training and evaluation data, built from the experts' outputs on HELD-OUT pools only.

No real corpus here has face, voice and words together, so the multimodal sets are built honestly
from pools no expert was trained on:

* voice: RAVDESS actors 17-20 (the voice expert trains on actors 1-16);
* face: FER-2013 PublicTest (the face expert trains on FER train), minus the PublicTest images that
  are byte-identical to a train image;
* text: GoEmotions dev (the text expert trains on GoEmotions train).

Each expert runs ONCE per pool item; its outputs (logits, embedding, confidence) are cached in an
``.npz`` under ``~/.cache/emotion-agent/fusion`` (``EMOTION_AGENT_CACHE`` overrides), keyed by the
checkpoint's and the data file's digests, so pairing and training run on cached arrays.

Conditions (``CONDITIONS``):

* ``all`` — **synthetic pairing**: draw a label uniformly, then a face, a voice clip and a sentence of
  that label from the split's pools.  The three did not come from one person; it says how well a
  fuser combines independent evidence, not how people express emotion across channels.
* ``no_face`` / ``no_voice`` / ``no_text`` — the same with one modality missing.
* ``noisy_voice`` — the voice clip with white noise at an SNR drawn from 0-5 dB (voice expert re-run);
  ``swapped_face`` / ``swapped_text`` — the face / sentence replaced by one of another label.
* ``face_only`` / ``voice_only`` / ``text_only`` — one modality alone (calibration set and report only);
* ``asr`` — real RAVDESS utterances through the real ASR path: the voice expert on the audio, the
  text expert on the Whisper transcript, no face.  The words are always one of two neutral sentences,
  so the fuser has to learn to discount them.  One sample per clip, no resampling.

Splits never share a pool item: voice by ACTOR (17-18 train, 19 calibration, 20 test); faces and
sentences by disjoint, label-stratified index sets (50 % / 20 % / 30 %).  Everything is seeded.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.core.events import MODALITIES
from emotion_agent.core.labels import NUM_LABELS
from emotion_agent.fusion.experts.registry import load_expert

log = logging.getLogger(__name__)

VOICE_ACTORS: tuple[int, ...] = (17, 18, 19, 20)
SPLITS: tuple[str, ...] = ("train", "calib", "test")
SPLIT_ACTORS: dict[str, tuple[int, ...]] = {"train": (17, 18), "calib": (19,), "test": (20,)}
SPLIT_FRACTIONS: dict[str, float] = {"train": 0.5, "calib": 0.2, "test": 0.3}
SNR_DB: tuple[float, float] = (0.0, 5.0)
SPLIT_SEED = 20261123
"""Fixed, not a CLI option: a different ``--seed`` at eval time must never move a training item
into the test split.  ``--seed`` only changes which samples are drawn (and the training init)."""
NOISE_SEED = 20261124
CONDITIONS: tuple[str, ...] = ("all", "no_face", "no_voice", "no_text", "noisy_voice", "swapped_face",
                               "swapped_text", "asr")
SINGLE_CONDITIONS: tuple[str, ...] = ("face_only", "voice_only", "text_only")
"""One modality alone (synthetic pools): in the calibration set and the report, not in the table."""
ALL_CONDITIONS: tuple[str, ...] = CONDITIONS + SINGLE_CONDITIONS
TRAINING_CONDITIONS: tuple[str, ...] = ("neutral_words",)
"""Training-only: a face and a voice clip of the drawn label with a NEUTRAL sentence (half the rows without
the face), labelled with the drawn label.  Same-label pairing never shows emotional speech carrying
neutral words, yet that is what real speech often is (the RAVDESS ASR path always is): without it the
fuser learns that neutral words mean a neutral person and follows them against the voice."""
CACHE_VERSION = "1"


def cache_dir() -> Path:
    root = os.environ.get("EMOTION_AGENT_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "emotion-agent") / "fusion"


@dataclass
class Pool:
    """One expert's cached outputs on one pool: ``logits`` (n, 7), ``embedding`` (n, d),
    ``confidence`` (n,), ``labels`` (n,) true label indices, ``group`` (n,) actor or item index,
    ``valid`` (n,) bool — False where the expert had no input (e.g. an empty transcript)."""

    logits: np.ndarray
    embedding: np.ndarray
    confidence: np.ndarray
    labels: np.ndarray
    group: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def dim(self) -> int:
        return int(self.embedding.shape[1])

    def save(self, path: Path, **extra: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, logits=self.logits, embedding=self.embedding, confidence=self.confidence,
                            labels=self.labels, group=self.group, valid=self.valid, **extra)
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> Pool:
        with np.load(path, allow_pickle=False) as d:
            return cls(d["logits"], d["embedding"], d["confidence"], d["labels"], d["group"], d["valid"])


@dataclass
class Pools:
    face: Pool
    text: Pool
    voice: Pool
    voice_noisy: Pool
    asr_text: Pool
    transcripts: list[str] = field(default_factory=list)

    def embedding_dims(self) -> dict[str, int]:
        return {"face": self.face.dim, "voice": self.voice.dim, "text": self.text.dim}


@dataclass
class SplitIndex:
    """Pool item indices of one split: face, text, voice (clips; also index voice_noisy/asr_text)."""

    face: np.ndarray
    text: np.ndarray
    voice: np.ndarray


# ---------------------------------------------------------------- running the experts (cached)

def _digest(*parts: Any) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for part in parts:
        if isinstance(part, Path) and part.is_file():
            st = part.stat()
            h.update(f"{part.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()[:16]


def _model_digest(spec: str) -> str:
    """Digest of an expert's checkpoint bytes (so retraining an expert invalidates the cache)."""
    from emotion_agent.fusion.experts.base import checkpoint_file

    return hashlib.sha256(checkpoint_file(spec).read_bytes()).hexdigest()[:16]


def _scores_to_arrays(scores: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from emotion_agent.fusion.fusers.base import scores_logits

    logits = np.stack([scores_logits(s) for s in scores]).astype(np.float32)
    emb = np.stack([np.asarray(s.embedding, dtype=np.float32) for s in scores])
    conf = np.array([float(s.confidence) for s in scores], dtype=np.float32)
    return logits, emb, conf


def _run_batched(predict_many: Callable[[Sequence[Any]], Sequence[Any]], windows: Sequence[Any],
                 what: str, batch: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from tqdm import tqdm

    out: list[Any] = []
    for start in tqdm(range(0, len(windows), batch), desc=what, unit="batch", leave=False):
        out.extend(predict_many(windows[start:start + batch]))
    return _scores_to_arrays(out)


def _cached(name: str, key: str, build: Callable[[], Pool], directory: Path) -> Pool:
    path = directory / f"{name}-{key}.npz"
    if path.exists():
        log.info("cache hit %s", path)
        return Pool.read(path)
    pool = build()
    pool.save(path)
    log.info("cached %s", path)
    return pool


def fer_heldout(face_npz: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FER PublicTest images (n, 48, 48), labels (n,), original row index (n,), without images
    byte-identical to a FER train image (the face expert may have seen those)."""
    from emotion_agent.training.datasets import load_fer

    images, labels = load_fer(face_npz, "PublicTest")
    train_images, _ = load_fer(face_npz, "train")
    seen = {hashlib.sha1(img.tobytes()).digest() for img in train_images}
    keep = np.array([hashlib.sha1(img.tobytes()).digest() not in seen for img in images])
    return images[keep], labels[keep], np.flatnonzero(keep)


def add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at ``snr_db`` relative to the clip's RMS (float32 16 kHz in, same out)."""
    from emotion_agent.perception.audio import rms

    level = rms(audio) / (10.0 ** (snr_db / 20.0))
    return (audio + rng.normal(0.0, level, size=audio.shape)).astype(np.float32)


def _clips_key(clips: Sequence[Any]) -> str:
    paths = [Path(c.path) for c in clips]
    return _digest([(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths])


def transcribe_clips(clips: Sequence[Any], transcriber: Any = None, directory: Path | None = None) -> list[str]:
    """Whisper transcripts of RAVDESS clips (cached; independent of the experts' weights).

    ``transcriber`` defaults to ``WhisperTranscriber.load(settings.asr_model, ...)``, the real ASR path."""
    from emotion_agent.core.settings import get_settings
    from emotion_agent.perception.decode import read_audio

    settings = get_settings()
    directory = directory or cache_dir()
    from emotion_agent.perception.transcribe import WhisperTranscriber

    source = settings.asr_model if transcriber is None or isinstance(transcriber, WhisperTranscriber) \
        else f"given-{type(transcriber).__name__}"
    path = directory / f"transcripts-{_digest(_clips_key(clips), source)}.txt"
    if path.exists():
        return path.read_text().split("\n")[: len(clips)]
    if transcriber is None:
        transcriber = WhisperTranscriber.load(settings.asr_model, settings.asr_compute_type,
                                              settings.asr_threads, settings.asr_beam_size)
    from tqdm import tqdm

    out = [transcriber.transcribe(read_audio(c.path)).text.replace("\n", " ").strip()
           for c in tqdm(clips, desc="ASR", leave=False)]
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out))
    return out


def build_pools(voice_dir: Path, face_npz: Path, text_tsv: Path,
                experts: dict[str, Any] | None = None, transcriber: Any = None,
                directory: Path | None = None, text_rows: int | None = None) -> Pools:
    """Run each expert once per held-out pool item (or read the cache).  ``experts``/``transcriber``
    default to the committed experts and ``settings.asr_model``; they are loaded only on a cache miss."""
    from emotion_agent.core.settings import get_settings
    from emotion_agent.training.datasets import load_goemotions, load_ravdess

    settings = get_settings()
    directory = directory or cache_dir()
    experts = dict(experts or {})

    def expert(m: str) -> Any:
        if m not in experts:
            experts[m] = load_expert(m, specs[m])
        return experts[m]

    specs = {"face": settings.face_expert, "voice": settings.voice_expert, "text": settings.text_expert}

    def mdig(m: str) -> str:
        return _model_digest(specs[m]) if m not in experts else f"given-{id(experts[m])}"

    def build_face() -> Pool:
        from emotion_agent.core.events import FaceCrop

        images, labels, rows = fer_heldout(face_npz)
        windows = [[FaceCrop(img, (0, 0, img.shape[1], img.shape[0]), 0.0)] for img in images]
        lg, em, cf = _run_batched(expert("face").predict_many, windows, "face expert")
        return Pool(lg, em, cf, labels, rows.astype(np.int64), np.ones(len(labels), bool))

    def build_text() -> Pool:
        texts, labels = load_goemotions(text_tsv)
        keep = np.array([bool(t.strip()) for t in texts], dtype=bool)  # the text expert rejects empty text
        if text_rows is not None:  # the first rows of the file (GoEmotions files are in random order)
            keep[np.cumsum(keep) > text_rows] = False
        texts, labels = [t for t, k in zip(texts, keep, strict=True) if k], labels[keep]
        lg, em, cf = _run_batched(expert("text").predict_many, texts, "text expert")
        return Pool(lg, em, cf, labels, np.flatnonzero(keep), np.ones(len(labels), bool))

    clips = load_ravdess(voice_dir, actors=list(VOICE_ACTORS))
    from emotion_agent.core.labels import LABEL_INDEX

    voice_labels = np.array([LABEL_INDEX[c.label] for c in clips], dtype=np.int64)
    actors = np.array([c.actor for c in clips], dtype=np.int64)
    voice_key = _digest(_clips_key(clips), mdig("voice"))

    def audio() -> list[np.ndarray]:
        from emotion_agent.perception.decode import read_audio

        return [read_audio(c.path) for c in clips]

    def build_voice() -> Pool:
        lg, em, cf = _run_batched(expert("voice").predict_many, audio(), "voice expert", batch=16)
        return Pool(lg, em, cf, voice_labels, actors, np.ones(len(clips), bool))

    def build_noisy() -> Pool:
        rng = np.random.default_rng(NOISE_SEED)
        noisy = [add_noise(a, float(rng.uniform(*SNR_DB)), rng) for a in audio()]
        lg, em, cf = _run_batched(expert("voice").predict_many, noisy, "voice expert (noisy)", batch=16)
        return Pool(lg, em, cf, voice_labels, actors, np.ones(len(clips), bool))

    d = directory
    # Text last: the face/voice/ASR caches can be filled before a text expert exists.
    face = _cached("face", _digest(face_npz, mdig("face")), build_face, d)
    voice = _cached("voice", voice_key, build_voice, d)
    voice_noisy = _cached("voice_noisy", _digest(voice_key, NOISE_SEED, SNR_DB), build_noisy, d)
    transcripts = transcribe_clips(clips, transcriber, d)
    text = _cached("text", _digest(text_tsv, mdig("text"), *([text_rows] if text_rows is not None else [])),
                   build_text, d)

    def build_asr() -> Pool:
        ok = np.array([bool(t.strip()) for t in transcripts])
        lg = np.zeros((len(clips), NUM_LABELS), np.float32)
        cf = np.zeros(len(clips), np.float32)
        em = np.zeros((len(clips), text.dim), np.float32)
        if ok.any():
            said = [t for t in transcripts if t.strip()]
            lg[ok], em[ok], cf[ok] = _run_batched(expert("text").predict_many, said, "text expert (ASR)")
        return Pool(lg, em, cf, voice_labels, actors, ok)

    asr_text = _cached("asr_text", _digest(voice_key, settings.asr_model, "\n".join(transcripts), mdig("text")),
                       build_asr, d)
    return Pools(face, text, voice, voice_noisy, asr_text, transcripts)


# ---------------------------------------------------------------- splits and pairing

def _stratified(labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Disjoint, label-stratified index sets with ``SPLIT_FRACTIONS``."""
    out: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for label in range(NUM_LABELS):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_train = round(len(idx) * SPLIT_FRACTIONS["train"])
        n_calib = round(len(idx) * SPLIT_FRACTIONS["calib"])
        out["train"].append(idx[:n_train])
        out["calib"].append(idx[n_train:n_train + n_calib])
        out["test"].append(idx[n_train + n_calib:])
    return {s: np.sort(np.concatenate(v)) for s, v in out.items()}


def split_indices(pools: Pools, actors: dict[str, tuple[int, ...]] | None = None) -> dict[str, SplitIndex]:
    """train / calib / test item indices; no pool item is in two splits (fixed ``SPLIT_SEED``).

    ``actors`` overrides ``SPLIT_ACTORS`` (the rotating actor-held-out check in ``fusion_train``)."""
    actors = actors or SPLIT_ACTORS
    flat = [a for group in actors.values() for a in group]
    if len(flat) != len(set(flat)):
        raise ValueError(f"an actor is in two splits: {actors}")
    rng = np.random.default_rng(SPLIT_SEED)
    faces = _stratified(pools.face.labels, rng)
    texts = _stratified(pools.text.labels, rng)
    return {s: SplitIndex(faces[s], texts[s], np.flatnonzero(np.isin(pools.voice.group, actors[s])))
            for s in SPLITS}


def rotating_actor_splits() -> list[dict[str, tuple[int, ...]]]:
    """Four folds over actors 17-20: each actor is the test actor once, the next one calibrates."""
    folds = []
    for k, test in enumerate(VOICE_ACTORS):
        calib = VOICE_ACTORS[(k + 1) % len(VOICE_ACTORS)]
        folds.append({"train": tuple(a for a in VOICE_ACTORS if a not in (test, calib)),
                      "calib": (calib,), "test": (test,)})
    return folds


@dataclass
class FusionSet:
    """Paired samples as arrays, modalities in face, voice, text order.

    ``logits`` (n, 3, 7), ``confidence`` (n, 3), ``present`` (n, 3) bool, ``embeddings`` per modality
    (n, d_m), ``y`` (n,) true labels, ``condition`` (n,) condition names."""

    logits: np.ndarray
    confidence: np.ndarray
    present: np.ndarray
    embeddings: dict[str, np.ndarray]
    y: np.ndarray
    condition: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def batch(self) -> Any:
        from emotion_agent.fusion.fusers.base import FusionBatch

        return FusionBatch.from_numpy(self.logits, self.confidence, self.present, self.embeddings)

    def select(self, mask: np.ndarray) -> FusionSet:
        return FusionSet(self.logits[mask], self.confidence[mask], self.present[mask],
                         {m: e[mask] for m, e in self.embeddings.items()}, self.y[mask], self.condition[mask])

    @staticmethod
    def concat(sets: Sequence[FusionSet]) -> FusionSet:
        return FusionSet(
            np.concatenate([s.logits for s in sets]), np.concatenate([s.confidence for s in sets]),
            np.concatenate([s.present for s in sets]),
            {m: np.concatenate([s.embeddings[m] for s in sets]) for m in MODALITIES},
            np.concatenate([s.y for s in sets]), np.concatenate([s.condition for s in sets]),
        )


def _by_label(labels: np.ndarray, idx: np.ndarray) -> list[np.ndarray]:
    return [idx[labels[idx] == k] for k in range(NUM_LABELS)]


def _draw(groups: list[np.ndarray], wanted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One item per wanted label (n,) from per-label index arrays."""
    out = np.empty(len(wanted), dtype=np.int64)
    for k in range(NUM_LABELS):
        rows = np.flatnonzero(wanted == k)
        if len(rows):
            if len(groups[k]) == 0:
                raise ValueError(f"no pool item with label {k} in this split; cannot pair")
            out[rows] = rng.choice(groups[k], size=len(rows))
    return out


def _other_labels(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A label different from each y, uniform over the other six."""
    return (y + rng.integers(1, NUM_LABELS, size=len(y))) % NUM_LABELS


def make_condition(pools: Pools, split: SplitIndex, condition: str, n: int,
                   rng: np.random.Generator) -> FusionSet:
    """``n`` samples of a condition (``asr`` ignores ``n``: one sample per clip of the split)."""
    if condition not in ALL_CONDITIONS + TRAINING_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; choose from {ALL_CONDITIONS + TRAINING_CONDITIONS}")
    if condition == "asr":
        vi = split.voice
        y = pools.voice.labels[vi]
        present = np.stack([np.zeros(len(vi), bool), np.ones(len(vi), bool), pools.asr_text.valid[vi]], axis=1)
        picked = {"face": (pools.face, np.zeros(len(vi), np.int64)), "voice": (pools.voice, vi),
                  "text": (pools.asr_text, vi)}
    else:
        y = rng.integers(0, NUM_LABELS, size=n)
        face_y = _other_labels(y, rng) if condition == "swapped_face" else y
        text_y = _other_labels(y, rng) if condition == "swapped_text" else y
        if condition == "neutral_words":
            text_y = np.zeros_like(y)  # neutral is label 0
        voice_pool = pools.voice_noisy if condition == "noisy_voice" else pools.voice
        picked = {
            "face": (pools.face, _draw(_by_label(pools.face.labels, split.face), face_y, rng)),
            "voice": (voice_pool, _draw(_by_label(pools.voice.labels, split.voice), y, rng)),
            "text": (pools.text, _draw(_by_label(pools.text.labels, split.text), text_y, rng)),
        }
        present = np.ones((n, len(MODALITIES)), bool)
        for i, m in enumerate(MODALITIES):
            if condition == f"no_{m}":
                present[:, i] = False
            if condition.endswith("_only") and condition != f"{m}_only":
                present[:, i] = False
        if condition == "neutral_words":
            present[1::2, 0] = False  # every other row without a face, as on a voice call
    logits = np.stack([pool.logits[idx] for pool, idx in picked.values()], axis=1)
    conf = np.stack([pool.confidence[idx] for pool, idx in picked.values()], axis=1)
    embs = {m: pool.embedding[idx] for m, (pool, idx) in picked.items()}
    # Missing slots are zero-filled here too, so cached arrays never pose as evidence.
    logits = np.where(present[..., None], logits, 0.0).astype(np.float32)
    conf = np.where(present, conf, 0.0).astype(np.float32)
    embs = {m: np.where(present[:, i, None], e, 0.0).astype(np.float32) for i, (m, e) in enumerate(embs.items())}
    return FusionSet(logits, conf, present, embs, y.astype(np.int64), np.full(len(y), condition))


def training_set(pools: Pools, split: SplitIndex, n: int, rng: np.random.Generator,
                 corruption: float = 0.5, asr_share: float = 0.1, neutral_words: float = 0.0) -> FusionSet:
    """The training mixture: ``n`` same-label triples (modality dropout happens per batch while
    training), the split's real ASR-path clips repeated to ``asr_share`` of ``n``, ``neutral_words`` of
    ``n`` emotional face/voice with neutral words (``TRAINING_CONDITIONS``), and — corruption
    augmentation, from this split's pools only — ``corruption`` of ``n`` split evenly over noisy
    voice, swapped face and swapped words."""
    n_corrupt = int(n * corruption) // 3
    n_neutral = int(n * neutral_words)
    parts = [make_condition(pools, split, "all", n - 3 * n_corrupt - n_neutral, rng)]
    parts += [make_condition(pools, split, c, n_corrupt, rng)
              for c in ("noisy_voice", "swapped_face", "swapped_text") if n_corrupt]
    if n_neutral:
        parts.append(make_condition(pools, split, "neutral_words", n_neutral, rng))
    asr = make_condition(pools, split, "asr", 0, rng)
    if len(asr) and asr_share > 0:
        reps = max(1, round(n * asr_share / len(asr)))
        parts.append(asr.select(np.tile(np.arange(len(asr)), reps)))
    return FusionSet.concat(parts)


def evaluation_sets(pools: Pools, split: SplitIndex, n: int, seed: int,
                    conditions: Sequence[str] = CONDITIONS) -> dict[str, FusionSet]:
    """One seeded set per condition (each condition gets its own generator, so adding one
    condition does not change the others)."""
    return {c: make_condition(pools, split, c, n, np.random.default_rng([seed, i]))
            for i, c in enumerate(ALL_CONDITIONS) if c in conditions}


def calibration_set(pools: Pools, split: SplitIndex, n: int, seed: int) -> FusionSet:
    """What temperatures are fitted (and early stopping judged) on: the clean conditions — all three,
    each one missing, each one alone, and the real ASR path — from the calibration split."""
    sets = evaluation_sets(pools, split, n, seed, ("all", "no_face", "no_voice", "no_text", "asr", *SINGLE_CONDITIONS))
    return FusionSet.concat(list(sets.values()))


def data_args(parser: argparse.ArgumentParser) -> None:
    """The data options ``train fusion`` and ``eval fusion`` share (same formats as the expert evals)."""
    from emotion_agent.core.settings import get_settings

    data = get_settings().data_dir
    parser.add_argument("--voice-data", type=Path, default=data / "ravdess_speech_16k",
                        help="RAVDESS folder (actors 17-20 are used)")
    parser.add_argument("--face-data", type=Path, default=data / "fer2013" / "fer2013_train_publictest.npz",
                        help="FER-2013 .npz (PublicTest rows are used)")
    parser.add_argument("--text-data", type=Path, default=data / "goemotions" / "dev.tsv",
                        help="GoEmotions .tsv (the dev file)")
    parser.add_argument("--text-rows", type=int, default=None,
                        help="use only the first N sentences of --text-data as the text pool (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=3000, help="samples per synthetic evaluation condition")
    parser.add_argument("--cache-dir", type=Path, default=None, help="expert-output cache (default ~/.cache)")
