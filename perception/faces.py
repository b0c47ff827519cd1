"""Face detection: OpenCV Haar cascade (the late-fusion seed's detector) → grayscale ``FaceCrop``.

Haar needs no model download and ships inside ``opencv-python-headless`` < 5
(``cv2.data.haarcascades``; 5.x dropped it, hence the pin).  With the fine 1.05 pyramid step it costs
~26 ms of one core per 320×240 frame here, ~4× that at 640×480, hence ``detect_width``.
``cv2.CascadeClassifier`` is not safe to share between threads, so each thread gets its own instance.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_agent.core.events import FaceCrop
from emotion_agent.core.settings import get_settings

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


class InvalidFrameError(ValueError):
    """The frame is not a BGR (h, w, 3) or gray (h, w) uint8 image."""


@dataclass(frozen=True)
class DetectorOptions:
    min_size: int | None = None
    """Smallest face side in pixels; ``None`` → ``settings.face_min_size``."""
    scale_factor: float = 1.05
    """Image pyramid step of the cascade (smaller is slower and finds more)."""
    min_neighbors: int = 5
    """Overlapping raw hits a detection needs (higher → fewer false faces)."""
    margin: float = 0.1
    """Extra context on each side as a fraction of the box side (FER crops include brow and chin)."""
    cascade: str = DEFAULT_CASCADE
    """File name inside ``cv2.data.haarcascades`` or a path to a cascade XML."""
    max_crop_px: int | None = 96
    """Crops larger than this are shrunk (area averaging) so their longer side is this long: the face
    expert reads 48 px, and sessions keep 30 s of crops (full-size ones from 640×480 video made RSS
    creep in the soak).  ``None``: keep full size."""
    detect_width: int | None = 320
    """Wider frames are shrunk to this width for the cascade (boxes are mapped back and crops cut from
    the full frame); the cascade's cost grows with the pixel count, so 640×480 → 320×240 is ~4× less
    CPU.  ``None``: full resolution."""


CASCADE_WINDOW_PX = 24
"""The default cascade's training window: no smaller face can be found."""


def _cascade_path(name: str) -> Path:
    path = Path(name)
    if not path.exists():
        path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
    if not path.exists():
        raise FileNotFoundError(f"Haar cascade not found: {name} (opencv-python-headless<5 ships them)")
    return path


def to_gray(frame: np.ndarray) -> np.ndarray:
    """BGR (h, w, 3), BGRA (h, w, 4) or gray (h, w) uint8 → gray (h, w) uint8."""
    if not isinstance(frame, np.ndarray):
        raise InvalidFrameError(f"expected a numpy image, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise InvalidFrameError(f"expected uint8 pixels, got {frame.dtype}")
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[2] == 3:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    elif frame.ndim == 3 and frame.shape[2] == 1:
        gray = frame[:, :, 0]
    else:
        raise InvalidFrameError(f"expected an image (h, w, 3) or (h, w), got shape {frame.shape}")
    if gray.shape[0] < 8 or gray.shape[1] < 8:
        raise InvalidFrameError(f"frame too small: {gray.shape}")
    return np.ascontiguousarray(gray)


class FaceDetector:
    """Finds frontal faces in a frame and cuts square grayscale crops, largest first."""

    def __init__(self, options: DetectorOptions | None = None, **overrides: object) -> None:
        opts = options or DetectorOptions()
        if overrides:
            opts = DetectorOptions(**{**opts.__dict__, **overrides})
        min_size = opts.min_size if opts.min_size is not None else get_settings().face_min_size
        if min_size < 8:
            raise ValueError(f"min_size must be >= 8 px, got {min_size}")
        if opts.scale_factor <= 1.0:
            raise ValueError(f"scale_factor must be > 1, got {opts.scale_factor}")
        if opts.detect_width is not None and opts.detect_width < 64:
            raise ValueError(f"detect_width must be >= 64 px or None, got {opts.detect_width}")
        self.options = opts
        self.min_size = int(min_size)
        self.cascade_path = _cascade_path(opts.cascade)
        self._local = threading.local()
        self._classifier()  # fail at construction on a corrupt cascade, not on the first frame

    def _classifier(self) -> cv2.CascadeClassifier:
        clf = getattr(self._local, "classifier", None)
        if clf is None:
            clf = cv2.CascadeClassifier(str(self.cascade_path))
            if clf.empty():
                raise FileNotFoundError(f"could not load Haar cascade {self.cascade_path}")
            self._local.classifier = clf
        return clf

    def boxes(self, gray: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """Raw cascade boxes (x, y, w, h) in ``gray``'s pixels with a score in (0, 1), largest first."""
        scale, small = 1.0, gray
        width = self.options.detect_width
        if width is not None and gray.shape[1] > width:
            scale = width / gray.shape[1]
            small = cv2.resize(gray, (width, max(1, round(gray.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        min_side = max(CASCADE_WINDOW_PX, round(self.min_size * scale))
        # Histogram equalisation makes Haar far less sensitive to exposure (webcams, dim rooms).
        eq = cv2.equalizeHist(small)
        rects, neighbours = self._classifier().detectMultiScale2(
            eq, scaleFactor=self.options.scale_factor, minNeighbors=self.options.min_neighbors,
            minSize=(min_side, min_side))
        found = []
        for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(neighbours).reshape(-1),
                                   strict=True):
            # More agreeing raw hits → more likely a real face; a monotone squash into (0, 1).
            score = 1.0 - math.exp(-float(n) / 10.0)
            box = (round(x / scale), round(y / scale), round(w / scale), round(h / scale))
            found.append((box, score))
        found.sort(key=lambda item: item[0][2] * item[0][3], reverse=True)
        return found

    def detect(self, frame_bgr: np.ndarray, timestamp: float) -> list[FaceCrop]:
        """Faces in a BGR (h, w, 3) or gray (h, w) uint8 frame → crops, largest first.

        Each crop is square (the box grown by ``margin`` per side), clipped to the frame, gray uint8,
        and at most ``max_crop_px`` on its longer side; ``box`` is in the frame's pixels.
        """
        gray = to_gray(frame_bgr)
        height, width = gray.shape
        crops = []
        for (x, y, w, h), score in self.boxes(gray):
            side = max(w, h) * (1.0 + 2.0 * self.options.margin)
            cx, cy = x + w / 2.0, y + h / 2.0
            x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
            x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
            crop = gray[y0:y1, x0:x1]
            limit = self.options.max_crop_px
            if limit is not None and max(crop.shape) > limit:
                f = limit / max(crop.shape)
                crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                                  interpolation=cv2.INTER_AREA)
            else:
                crop = crop.copy()
            crops.append(FaceCrop(image=crop, box=(x0, y0, x1 - x0, y1 - y0), timestamp=timestamp, score=score))
        return crops

    def detect_largest(self, frame_bgr: np.ndarray, timestamp: float) -> FaceCrop | None:
        """The largest face in the frame, or ``None``."""
        crops = self.detect(frame_bgr, timestamp)
        return crops[0] if crops else None
