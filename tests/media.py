"""Writes small test media with PyAV: speech-like audio, a face on a background, mp4/webm/wav."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from emotion_agent.training.sample import face_frame

__all__ = ["face_frame", "write_media"]


def write_media(path: Path, audio: np.ndarray | None, sample_rate: int = 16_000,
                frame: np.ndarray | None = None, fps: int = 10, seconds: float | None = None) -> Path:
    """Write audio (float32 mono) and/or a still video ``frame`` (BGR) to ``path`` (.mp4/.webm/.wav/...)."""
    duration = seconds if seconds is not None else (len(audio) / sample_rate if audio is not None else 1.0)
    with av.open(str(path), "w") as out:
        vstream: Any = None
        astream: Any = None
        if frame is not None:
            codec = "libvpx" if path.suffix == ".webm" else "mpeg4"
            vstream = out.add_stream(codec, rate=fps)
            vstream.width, vstream.height = frame.shape[1], frame.shape[0]
            vstream.pix_fmt = "yuv420p"
        if audio is not None:
            codec = {".webm": "libopus", ".mp4": "aac", ".wav": "pcm_s16le", ".mp3": "libmp3lame",
                     ".flac": "flac"}[path.suffix]
            rate = 48_000 if codec == "libopus" else sample_rate
            astream = out.add_stream(codec, rate=rate)
            astream.layout = "mono"
        if vstream is not None and frame is not None:
            for i in range(int(duration * fps)):
                vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
                vf.pts = i
                vf.time_base = Fraction(1, fps)
                for packet in vstream.encode(vf):
                    out.mux(packet)
            for packet in vstream.encode():
                out.mux(packet)
        if astream is not None and audio is not None:
            from emotion_agent.perception.audio import float_to_int16, resample

            pcm = float_to_int16(resample(audio, sample_rate, astream.rate))
            step = 1024
            for i in range(0, len(pcm), step):
                chunk = pcm[i : i + step]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
                af.sample_rate = astream.rate
                af.pts = i
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path
