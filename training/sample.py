"""Make a demo clip from the shared data: a RAVDESS utterance over a video of a FER-2013 face.

Used by the README's first command and the tests.  The clip is generated, never shipped: the
datasets' licences do not allow redistribution.  Where the shared data is absent and no ``--clip``
was asked for, ``emotion-agent sample`` falls back to ``emotion-agent demo`` (speech synthesised
here, no face) and says so on stderr.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from emotion_agent.core.labels import LABEL_INDEX
from emotion_agent.training.datasets import load_fer, load_ravdess

DEFAULT_CLIP = "Actor_17/03-01-05-02-01-01-17.flac"
"""Actor 17 (held out from voice training), angry, strong intensity, 'Kids are talking by the door'."""


def face_frame(face: np.ndarray | None, size: tuple[int, int] = (320, 240), face_px: int = 144) -> np.ndarray:
    """BGR frame (h, w, 3): a gray backdrop with ``face`` (gray uint8) upscaled in the middle."""
    import cv2

    width, height = size
    frame = np.full((height, width, 3), 90, dtype=np.uint8)
    if face is not None:
        big = cv2.resize(face, (face_px, face_px), interpolation=cv2.INTER_CUBIC)
        y, x = (height - face_px) // 2, (width - face_px) // 2
        frame[y : y + face_px, x : x + face_px] = big[..., None]
    return frame


def pick_face(data_dir: Path, label: str, index: int = 0) -> np.ndarray:
    """A FER-2013 PublicTest face (48×48 gray) with the given label."""
    images, labels = load_fer(data_dir / "fer2013" / "fer2013_train_publictest.npz", "PublicTest")
    idx = np.flatnonzero(labels == LABEL_INDEX[label])
    return images[idx[index % len(idx)]]


def write_clip(out: Path, audio: np.ndarray, frame: np.ndarray | None, fps: int = 15,
               pad_s: float = 0.5, sample_rate: int = 16_000) -> Path:
    """Write an mp4 (H.264 or MPEG-4 video + AAC audio) or, without a frame, a wav."""
    import av

    from emotion_agent.perception.audio import float_to_int16

    pad = np.zeros(int(pad_s * sample_rate), dtype=np.float32)
    audio = np.concatenate([pad, audio.astype(np.float32), pad])
    seconds = len(audio) / sample_rate
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as container:
        video = None
        if frame is not None:
            # H.264 at high quality where PyAV's FFmpeg has it; MPEG-4 Part 2 at a high bit rate otherwise
            # (its default 200 kb/s blurs a 48-px face enough that the Haar cascade misses it).
            if "libx264" in av.codecs_available:
                video = container.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
            else:
                video = container.add_stream("mpeg4", rate=fps)
                video.bit_rate = 2_000_000
            video.width, video.height, video.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
        sound = container.add_stream("aac" if out.suffix == ".mp4" else "pcm_s16le", rate=sample_rate)
        sound.layout = "mono"
        if video is not None and frame is not None:
            for i in range(int(seconds * fps)):
                vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
                vf.pts, vf.time_base = i, Fraction(1, fps)
                for packet in video.encode(vf):
                    container.mux(packet)
            for packet in video.encode():
                container.mux(packet)
        pcm = float_to_int16(audio)
        for i in range(0, len(pcm), 1024):
            af = av.AudioFrame.from_ndarray(pcm[None, i : i + 1024], format="s16", layout="mono")
            af.sample_rate, af.pts = sample_rate, i
            for packet in sound.encode(af):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    return out


def make_sample(out: Path, data_dir: Path, clip: str = DEFAULT_CLIP, with_face: bool = True) -> Path:
    """A demo clip: RAVDESS ``clip`` (relative to the RAVDESS folder) + a face with the same label."""
    from emotion_agent.perception.decode import read_audio

    ravdess = data_dir / "ravdess_speech_16k"
    match = [c for c in load_ravdess(ravdess) if str(c.path).endswith(clip)]
    if not match:
        raise FileNotFoundError(f"{clip} not found under {ravdess}")
    audio = read_audio(match[0].path)
    frame = face_frame(pick_face(data_dir, match[0].label)) if with_face else None
    return write_clip(out, audio, frame)


def build_sample_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent sample", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="output .mp4 (or .wav with --audio-only)")
    parser.add_argument("--clip", default=None,
                        help=f"RAVDESS clip, relative to the RAVDESS folder (default: {DEFAULT_CLIP})")
    parser.add_argument("--audio-only", action="store_true", help="no video track (write a .wav)")
    parser.add_argument("--data", type=Path, default=None,
                        help="data folder holding ravdess_speech_16k/ and fer2013/ (default: settings)")
    return parser


def run_sample(args: argparse.Namespace) -> int:
    from emotion_agent.core.settings import get_settings

    data_dir = args.data or get_settings().data_dir
    if args.clip is None and not (data_dir / "ravdess_speech_16k").is_dir():
        from emotion_agent.training.demo import make_demo

        out, engine = make_demo(args.out)
        what = (f"a SYNTHETIC TONE, not speech (no speech synthesiser found; script in {out.with_suffix('.txt')})"
                if engine == "tone" else f"speech synthesised by {engine}, no face")
        print(f"note: no shared data at {data_dir}; wrote the demo clip instead: {what} "
              "(see emotion-agent demo --help)", file=sys.stderr)
    else:
        out = make_sample(args.out, data_dir, clip=args.clip or DEFAULT_CLIP, with_face=not args.audio_only)
    print(out)
    return 0


def sample_main(argv: list[str] | None = None) -> int:
    return run_sample(build_sample_parser().parse_args(argv))
