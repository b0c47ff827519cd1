"""Haar face detection: no face in noise, real FER-2013 faces pasted onto a background, bad frames."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_agent.perception.faces import FaceDetector, InvalidFrameError


def _background(rng: np.random.Generator, h: int = 480, w: int = 640) -> np.ndarray:
    return rng.integers(100, 140, (h, w)).astype(np.uint8)


def test_no_face_in_synthetic_frame() -> None:
    rng = np.random.default_rng(0)
    det = FaceDetector()
    frame = cv2.cvtColor(_background(rng), cv2.COLOR_GRAY2BGR)
    cv2.rectangle(frame, (100, 100), (300, 250), (30, 200, 90), -1)
    assert det.detect(frame, 0.0) == []
    assert det.detect_largest(np.zeros((240, 320, 3), np.uint8), 1.0) is None


def test_detects_real_fer_faces(fer_npz: Path) -> None:
    """FER faces are tight 48 px crops; upscaled 4× (bicubic) the default cascade finds most."""
    from emotion_agent.training.datasets import load_fer

    images, _ = load_fer(fer_npz, "PublicTest")
    rng = np.random.default_rng(0)
    det = FaceDetector()
    found, centred = 0, 0
    x0, y0, side = 220, 120, 192
    for i in range(20):
        frame = _background(rng)
        frame[y0:y0 + side, x0:x0 + side] = cv2.resize(images[i], (side, side), interpolation=cv2.INTER_CUBIC)
        crop = det.detect_largest(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), timestamp=float(i))
        if crop is None:
            continue
        found += 1
        bx, by, bw, bh = crop.box
        centred += x0 < bx + bw / 2 < x0 + side and y0 < by + bh / 2 < y0 + side
        assert crop.image.dtype == np.uint8 and crop.image.ndim == 2
        assert abs(bw - bh) <= 1  # square, away from the edges
        assert crop.image.shape == ((bh, bw) if bw <= 96 else (96, 96))  # big crops shrunk to 96 px
        assert crop.timestamp == float(i) and 0 < crop.score < 1
    # Measured 17/20 with the default options (scale 1.1, 5 neighbours, min size 48).
    assert found >= 14 and centred == found


def test_crop_is_clipped_and_largest_first(fer_npz: Path) -> None:
    from emotion_agent.training.datasets import load_fer

    images, _ = load_fer(fer_npz, "PublicTest")
    frame = _background(np.random.default_rng(1), 300, 500)
    big = cv2.resize(images[0], (200, 200), interpolation=cv2.INTER_CUBIC)
    small = cv2.resize(images[1], (120, 120), interpolation=cv2.INTER_CUBIC)
    frame[88:288, 8:208] = big  # 8 px from the left edge: the 10% margin must be clipped there
    frame[20:140, 330:450] = small
    crops = FaceDetector().detect(frame, 0.0)
    assert len(crops) == 2
    areas = [c.box[2] * c.box[3] for c in crops]
    assert areas == sorted(areas, reverse=True)
    for c in crops:
        x, y, w, h = c.box
        assert x >= 0 and y >= 0 and x + w <= 500 and y + h <= 300
    x, _, w, h = crops[0].box
    assert x == 0 and w < h  # clipped on the left, so no longer square


def test_bad_frames() -> None:
    det = FaceDetector()
    with pytest.raises(InvalidFrameError, match="uint8"):
        det.detect(np.zeros((48, 48, 3), np.float32), 0.0)
    with pytest.raises(InvalidFrameError, match="shape"):
        det.detect(np.zeros((48, 48, 2), np.uint8), 0.0)
    with pytest.raises(InvalidFrameError, match="numpy"):
        det.detect([[1, 2], [3, 4]], 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_size"):
        FaceDetector(min_size=2)
    with pytest.raises(FileNotFoundError):
        FaceDetector(cascade="no_such_cascade.xml")


def test_threads_get_their_own_classifier() -> None:
    det = FaceDetector(min_size=30)
    frame = np.zeros((120, 160, 3), np.uint8)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(5):
                det.detect(frame, 0.0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_downscaled_detection_maps_boxes_back_to_the_full_frame(fer_npz: Path) -> None:
    """640×480 frames are searched at 320×240 (4× fewer pixels); boxes and crops are full-resolution."""
    from emotion_agent.training.datasets import load_fer

    images, _ = load_fer(fer_npz, "PublicTest")
    frame = _background(np.random.default_rng(2))
    frame[100:388, 176:464] = cv2.resize(images[0], (288, 288), interpolation=cv2.INTER_CUBIC)
    full = FaceDetector(detect_width=None).detect_largest(frame, 0.0)
    small = FaceDetector().detect_largest(frame, 0.0)
    assert FaceDetector().options.detect_width == 320
    assert full is not None and small is not None
    (ax, ay, aw, ah), (bx, by, bw, bh) = full.box, small.box
    overlap = max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))
    assert overlap / (aw * ah + bw * bh - overlap) > 0.7, (full.box, small.box)
    assert bw > 200 and small.image.shape == (96, 96)  # box in frame pixels; the crop shrunk to 96 px
    big = FaceDetector(detect_width=None, max_crop_px=None).detect_largest(frame, 0.0)
    assert big is not None and big.image.shape == (big.box[3], big.box[2])
    with pytest.raises(ValueError, match="detect_width"):
        FaceDetector(detect_width=32)
