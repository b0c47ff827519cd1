"""Tiny random DialoGPT (GPT-2) and T5 models with a word-level tokenizer, saved like real checkpoints.

Built offline in a temp folder and loaded back through ``responders.hf``'s loaders, the same path a
hub id or a downloaded folder takes.  The tokenizer is a ``tokenizers`` WordLevel model wrapped in
``PreTrainedTokenizerFast`` (so ``AutoTokenizer`` reads it back); words decode space-separated, which
makes ``TextIteratorStreamer`` yield one delta per word.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

CORPUS = (
    "hello there how are you today",
    "i am sorry to hear that",
    "that sounds really hard",
    "i lost my job today",
    "congratulations that is wonderful news",
    "tell me more about it",
    "emotion sad happy angry fearful neutral surprised disgusted unknown confidence",
    "i am here for you . what happened next ? that is great ! i see .",
)


def word_tokenizer(eos: str, pad: str, unk: str = "<unk>") -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for line in CORPUS for w in re.findall(r"\w+|[^\w\s]", line)})
    specials = list(dict.fromkeys([pad, eos, unk]))
    vocab = {token: i for i, token in enumerate([*specials, *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token=pad, unk_token=unk)


def make_tiny_dialogpt(folder: Path) -> Path:
    """GPT-2 architecture (as DialoGPT), 2 layers, 16 wide, 256 positions."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = word_tokenizer(eos="<|endoftext|>", pad="<|endoftext|>")
    cfg = GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=16, n_layer=2, n_head=2,
                     bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
    GPT2LMHeadModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_tiny_t5(folder: Path) -> Path:
    """T5 encoder-decoder, 2 + 2 layers, 16 wide; decoding starts from the pad token as in T5."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tok = word_tokenizer(eos="</s>", pad="<pad>")
    cfg = T5Config(vocab_size=len(tok), d_model=16, d_kv=8, d_ff=32, num_layers=2, num_decoder_layers=2,
                   num_heads=2, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                   decoder_start_token_id=tok.pad_token_id)  # type: ignore[call-arg]  # T5 reads it
    T5ForConditionalGeneration(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
