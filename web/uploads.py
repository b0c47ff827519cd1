"""Clip uploads: size-limited copy to a temporary file and a type check by magic bytes.

The type check only decides whether the bytes can be media at all (415 otherwise); whether they
decode is PyAV's call later (``MediaDecodeError`` → 422).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class UploadTooLarge(ValueError):
    """More bytes than the limit."""


class UnsupportedUpload(ValueError):
    """The bytes are not an audio/video container we know."""


_TEXTLIKE = {b"<": "HTML/XML", b"{": "JSON", b"[": "JSON", b"%PDF": "PDF", b"\x89PNG": "a PNG image",
             b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"PK\x03\x04": "a ZIP archive"}


def sniff_media(head: bytes) -> str:
    """The container family of a file from its first bytes (≥ 12), e.g. "wav", "mp4", "webm".

    Raises ``UnsupportedUpload`` naming what the bytes look like instead.
    """
    if len(head) < 4:
        raise UnsupportedUpload(f"upload is only {len(head)} bytes: not an audio or video file")
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "):
        return "wav" if head[8:12] == b"WAVE" else "avi"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mpeg-audio"  # mp3, or AAC in ADTS
    if head[:4] in (b"FORM",) and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    looks = next((name for magic, name in _TEXTLIKE.items() if head.startswith(magic)), None)
    if looks is None:
        looks = "text" if _is_text(head) else "unknown binary data"
    raise UnsupportedUpload(
        f"unsupported upload: expected an audio or video file (wav, mp3, mp4, webm, ogg, flac), got {looks}")


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def save_limited(src: BinaryIO, limit_bytes: int, suffix: str = "") -> tuple[Path, str]:
    """Copy ``src`` to a new temporary file, refusing more than ``limit_bytes``.

    Returns (path, sniffed kind).  The caller deletes the file.  Raises ``UploadTooLarge`` or
    ``UnsupportedUpload`` (the partial file is removed first).
    """
    fd, name = tempfile.mkstemp(prefix="emotion-agent-upload-", suffix=suffix)
    path = Path(name)
    try:
        with open(fd, "wb") as dst:
            total = 0
            head = b""
            while chunk := src.read(CHUNK):
                total += len(chunk)
                if total > limit_bytes:
                    raise UploadTooLarge(f"upload larger than the {limit_bytes / 1e6:.0f} MB limit")
                if len(head) < 64:
                    head += chunk[: 64 - len(head)]
                dst.write(chunk)
        kind = sniff_media(head)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, kind


def safe_suffix(filename: str | None) -> str:
    """The upload's extension if it is short and plain (PyAV sniffs content; this only helps it)."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if 1 < len(suffix) <= 6 and suffix[1:].isalnum() else ""
