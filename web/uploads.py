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


# -- streaming multipart (the /api/analyze body) -----------------------------------------------------


class BadUpload(ValueError):
    """The multipart body is malformed or has no ``file`` field."""


class StreamedUpload:
    """Parse a ``multipart/form-data`` body chunk by chunk, writing only the ``file`` field to a temporary
    file and refusing it as soon as it passes ``limit_bytes``: nothing over the limit reaches the disk,
    whether or not the request has a Content-Length (chunked bodies included).

    ``feed(chunk)`` for each chunk of the body, then ``finish()`` → (path, kind, filename).  ``discard()``
    removes the partial file (always call it on failure).
    """

    MAX_OTHER_FIELD = 4096

    def __init__(self, content_type: str, limit_bytes: int, field: str = "file") -> None:
        from python_multipart.multipart import MultipartParser, parse_options_header

        mime, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if mime != b"multipart/form-data" or not boundary or len(boundary) > 200:
            raise BadUpload("send the clip as multipart/form-data in a field named 'file'")
        self.limit = limit_bytes
        self.field = field.encode()
        self.path: Path | None = None
        self.filename: str | None = None
        self.size = 0
        self._head = b""
        self._dst: BinaryIO | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self._other = 0
        self._done_file = False
        self._error: BaseException | None = None
        self._parse_options = parse_options_header
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._hfield,
            "on_header_value": self._hvalue, "on_header_end": self._hend,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._part_end,
        })

    # callbacks
    def _part_begin(self) -> None:
        self._headers = {}
        self._header_field = self._header_value = b""

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _hend(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_done(self) -> None:
        _disp, opts = self._parse_options(self._headers.get(b"content-disposition", b""))
        self._in_file = opts.get(b"name") == self.field and not self._done_file
        if self._in_file:
            self.filename = opts.get(b"filename", b"").decode("utf-8", "replace")[:200]
            fd, name = tempfile.mkstemp(prefix="emotion-agent-upload-", suffix=safe_suffix(self.filename))
            self.path = Path(name)
            self._dst = open(fd, "wb")  # noqa: SIM115 (closed in _part_end / discard)

    def _data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if not self._in_file:
            self._other += n
            if self._other > self.MAX_OTHER_FIELD * 4:
                raise BadUpload("too much form data besides the file")
            return
        self.size += n
        if self.size > self.limit:
            raise UploadTooLarge(f"upload larger than the {self.limit / 1e6:.0f} MB limit")
        assert self._dst is not None
        if len(self._head) < 64:
            self._head += data[start : start + 64 - len(self._head)]
        self._dst.write(data[start:end])

    def _part_end(self) -> None:
        if self._in_file and self._dst is not None:
            self._dst.close()
            self._dst = None
            self._done_file = True
        self._in_file = False

    # driving
    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except (UploadTooLarge, BadUpload):
            raise
        except Exception as exc:  # python-multipart's parse errors
            raise BadUpload("malformed multipart body") from exc

    def finish(self) -> tuple[Path, str, str]:
        try:
            self._parser.finalize()
        except Exception as exc:
            raise BadUpload("malformed multipart body") from exc
        if not self._done_file or self.path is None:
            raise BadUpload("no file: send the clip in a multipart field named 'file'")
        kind = sniff_media(self._head)
        return self.path, kind, self.filename or "upload"

    def discard(self) -> None:
        if self._dst is not None:
            self._dst.close()
            self._dst = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
