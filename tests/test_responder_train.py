"""``train responder``: corpus split, sample format, the train command end to end on tiny models (DialoGPT,
T5, a tiny chat model through LoRA and the GGUF export), and the adapter loading of ``LlamaCppResponder``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest

from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.protocols import Turn
from emotion_agent.responders.base import respond
from emotion_agent.responders.prompting import PROFILE_ROLES, tuned_messages, tuned_messages_from
from emotion_agent.training.responder_train import (
    Exchange,
    build_train_parser,
    encode_chat,
    exchanges,
    find_converter,
    load_conversations,
    run_train,
    split_conversations,
)
from tests.llm import needs_llm
from tests.tiny_chat_models import CORPUS as TINY_WORDS
from tests.tiny_chat_models import make_tiny_dialogpt, make_tiny_t5

REPO = Path(__file__).resolve().parent.parent
DIALOGUE = REPO / "corpora" / "dialogue"

TINY_CONVERSATIONS = [
    {"id": f"t-{i}", "profile": profile, "turns": [
        {"user": "i lost my job today", "emotion": "sad", "mood": "steady", "reply": "i am sorry to hear that ."},
        {"user": "hello there", "emotion": "uncertain", "mood": "improving", "reply": "tell me more about it ."},
    ]}
    for i, profile in enumerate(["customer_service", "mental_health", "casual", "default"] * 2)
]


def write_corpus(folder: Path) -> tuple[Path, Path]:
    train, dev = split_conversations(TINY_CONVERSATIONS, 0.25, seed=0)
    paths = []
    for name, rows in (("train", train), ("dev", dev)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(path)
    return paths[0], paths[1]


def args_for(tmp_path: Path, model: Path, out: Path, **extra: Any) -> argparse.Namespace:
    train, dev = write_corpus(tmp_path)
    argv = ["--model", str(model), "--train", str(train), "--dev", str(dev), "--out", str(out),
            "--work-dir", str(tmp_path / "work"), "--max-steps", "2", "--batch-size", "2", "--max-len", "64",
            "--log-every", "1", "--save-every", "0", "--threads", "1"]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}", str(value)] if value is not True else [f"--{key.replace('_', '-')}"]
    return build_train_parser(argparse.ArgumentParser()).parse_args(argv)


# -- corpus ---------------------------------------------------------------------------------------------

def test_committed_split_is_by_conversation_and_stratified() -> None:
    train = load_conversations(DIALOGUE / "train.jsonl")
    dev = load_conversations(DIALOGUE / "dev.jsonl")
    assert not {r["id"] for r in train} & {r["id"] for r in dev}
    assert sum(len(r["turns"]) for r in train + dev) >= 2000
    profiles = {r["profile"] for r in train}
    assert profiles == {r["profile"] for r in dev} == {"customer_service", "mental_health", "casual", "default"}
    for profile in profiles:
        n_dev = sum(r["profile"] == profile for r in dev)
        n_all = n_dev + sum(r["profile"] == profile for r in train)
        assert 0.05 < n_dev / n_all < 0.15


def test_dev_scripts_are_not_in_the_training_corpus() -> None:
    said = {t["user"].strip().lower() for r in load_conversations(DIALOGUE / "train.jsonl") for t in r["turns"]}
    scripts = sorted((DIALOGUE / "dev_scripts").glob("*.txt"))
    assert len(scripts) >= 40
    lines = [ln.strip().lower() for f in scripts for ln in f.read_text().splitlines() if ln and not ln.startswith("#")]
    assert not [ln for ln in lines if ln in said and len(ln) > 20]


def test_split_is_deterministic_and_rejects_bad_rows(tmp_path: Path) -> None:
    a = split_conversations(TINY_CONVERSATIONS, 0.25, seed=3)
    assert a == split_conversations(TINY_CONVERSATIONS, 0.25, seed=3)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "profile": "casual", "turns": [{"user": "hi", "emotion": "glee",
                                                                         "mood": "steady", "reply": "hey"}]}))
    with pytest.raises(ValueError, match="glee"):
        load_conversations(bad)


def test_exchanges_carry_one_or_two_earlier_exchanges() -> None:
    rows = load_conversations(DIALOGUE / "dev.jsonl")[:5]
    exs = exchanges(rows, seed=0, max_prior=2)
    assert len(exs) == sum(len(r["turns"]) for r in rows)
    for ex in exs:
        assert ex.turns[-1][0] == "user" and len(ex.turns) in (1, 3, 5)


def test_training_prompt_is_the_runtime_prompt() -> None:
    """What the trainer feeds the model is exactly what the tuned responder sends (no few-shot, no rules)."""
    history = [Turn("user", "where is my parcel", t=1.0), Turn("assistant", "Sorry, what's the order number?", t=2.0),
               Turn("user", "#88213", t=3.0)]
    runtime = tuned_messages(history, None, {"profile": "customer_service", "mood_trend": "worsening"})
    trained = tuned_messages_from("customer_service", [(t.role, t.text) for t in history], "uncertain", "worsening")
    assert runtime == trained
    assert runtime[0] == {"role": "system", "content": PROFILE_ROLES["customer_service"]}
    assert runtime[-2] == {"role": "system", "content": "User emotion: uncertain. Mood: getting worse."}
    assert len(runtime) == 5


def test_encode_chat_takes_loss_on_the_reply_only() -> None:
    tok = _tiny_chat_tokenizer()
    ex = Exchange("casual", (("user", "hello there"),), "happy", "steady", "that is great !")
    enc = encode_chat(tok, ex, 128)
    reply = [i for i, lab in zip(enc.input_ids, enc.labels, strict=True) if lab != -100]
    assert tok.decode(reply).replace(" ", "") == "thatisgreat!<|im_end|>"
    assert enc.labels[: len(enc.labels) - len(reply)] == [-100] * (len(enc.labels) - len(reply))


# -- the train command on tiny models -------------------------------------------------------------------

def test_train_dialogpt_end_to_end(tmp_path: Path) -> None:
    from emotion_agent.responders.hf import DialoGPTResponder

    base = make_tiny_dialogpt(tmp_path / "base")
    out = tmp_path / "tuned"
    assert run_train(args_for(tmp_path, base, out)) == 0
    result = json.loads((tmp_path / "work" / "train_result.json").read_text())
    assert result["family"] == "dialogpt" and result["steps"] == 2 and result["dev"]
    responder = DialoGPTResponder.load(out)
    assert isinstance(respond(responder, [Turn("user", "i lost my job today")], None), str)


def test_train_t5_end_to_end(tmp_path: Path) -> None:
    from emotion_agent.responders.hf import T5Responder

    base = make_tiny_t5(tmp_path / "base")
    out = tmp_path / "tuned"
    assert run_train(args_for(tmp_path, base, out)) == 0
    assert json.loads((tmp_path / "work" / "train_result.json").read_text())["family"] == "t5"
    assert isinstance(respond(T5Responder.load(out), [Turn("user", "hello there")], None), str)


def _tiny_chat_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
    words = sorted({w for line in TINY_WORDS for w in re.findall(r"\w+|[^\w\s]", line)}
                   | {"system", "user", "assistant", "you", "are", "a", "User", "emotion", "Mood", ":", "."})
    vocab = {t: i for i, t in enumerate([*specials, *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   unk_token="<unk>", additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    fast.chat_template = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                          "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    return fast


def make_tiny_chat(folder: Path) -> Path:
    """A 2-layer Llama (the SmolLM2 architecture) with a ChatML template, saved like a checkpoint."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = _tiny_chat_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      bos_token_id=1, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_train_lora_chat_model_end_to_end_with_gguf_export(tmp_path: Path) -> None:
    """The SmolLM2 path on a tiny Llama: LoRA on the chat format, then llama.cpp's converter."""
    from emotion_agent.responders.llm import check_adapter

    try:
        find_converter()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    base = make_tiny_chat(tmp_path / "base")
    out = tmp_path / "adapter.gguf"
    assert run_train(args_for(tmp_path, base, out, lora_r=4, lora_alpha=8, lora_layers=1)) == 0
    assert check_adapter(out) == out and out.stat().st_size < 200_000
    result = json.loads((tmp_path / "work" / "train_result.json").read_text())
    assert result["family"] == "chat" and result["adapter_bytes"] == out.stat().st_size
    assert (tmp_path / "work" / "adapter" / "adapter_config.json").is_file()


def test_train_lora_needs_an_out_file_for_another_base(tmp_path: Path) -> None:
    base = make_tiny_chat(tmp_path / "base")
    args = args_for(tmp_path, base, tmp_path / "x.gguf")
    args.out = None
    with pytest.raises(SystemExit, match="--out"):
        run_train(args)


# -- adapter loading ------------------------------------------------------------------------------------

def test_adapter_checks(tmp_path: Path) -> None:
    from emotion_agent.responders.llm import check_adapter, resolve_adapter

    with pytest.raises(ModelNotFoundError, match="not found"):
        check_adapter(tmp_path / "missing.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    with pytest.raises(ModelNotFoundError, match="not a GGUF"):
        check_adapter(tmp_path / "junk.gguf")
    (tmp_path / "model.gguf").write_bytes(b"GGUF" + b"\0" * 64 + b"general.type" + b"model")
    with pytest.raises(ModelNotFoundError, match="not a LoRA adapter"):
        check_adapter(tmp_path / "model.gguf")
    assert resolve_adapter(None, True)[0] is None and resolve_adapter("none", True)[0] is None
    assert resolve_adapter("default", False)[0] is None  # another base: no default adapter
    with pytest.raises(ModelNotFoundError):
        resolve_adapter(tmp_path / "missing.gguf", True)


def test_missing_default_adapter_falls_back_to_the_untuned_prompt(tmp_path: Path, monkeypatch: Any,
                                                                  caplog: Any) -> None:
    from emotion_agent.responders import llm

    monkeypatch.setattr(llm, "DEFAULT_ADAPTER", tmp_path / "gone.gguf")
    path, note = llm.resolve_adapter("default", True)
    assert path is None and "untuned fallback" in note and "not found" in note
    assert "untuned" in caplog.text
    untuned = llm.LlamaCppResponder(object(), tuned=False)
    assert untuned.examples  # the few-shot examples only for the untuned model
    assert llm.LlamaCppResponder(object(), tuned=True).examples == ()


@needs_llm
def test_default_llm_loads_the_committed_adapter_and_uses_the_trained_format() -> None:
    from emotion_agent.responders.llm import DEFAULT_ADAPTER, LlamaCppResponder, LlmOptions

    if not DEFAULT_ADAPTER.is_file():
        pytest.skip("adapter not trained yet")
    responder = LlamaCppResponder.load(options=LlmOptions(max_tokens=24))
    assert responder.tuned and responder.name.endswith("-emotion") and DEFAULT_ADAPTER.name in responder.adapter_note
    history = [Turn("user", "my order still hasn't come and I'm fed up")]
    messages = responder.messages(history, None, {"profile": "customer_service"})
    assert messages[0]["content"] == PROFILE_ROLES["customer_service"] and len(messages) == 3
    assert respond(responder, history, None, {"profile": "customer_service"})
    untuned = LlamaCppResponder.load(options=LlmOptions(max_tokens=8), adapter=None, warmup=False)
    assert not untuned.tuned and untuned.examples


@needs_llm
def test_explicit_broken_adapter_is_a_clear_error(tmp_path: Path) -> None:
    from emotion_agent.responders.llm import LlamaCppResponder

    (tmp_path / "broken.gguf").write_bytes(b"GGUF\x03\x00\x00\x00 truncated")
    with pytest.raises(ModelNotFoundError):
        LlamaCppResponder.load(adapter=tmp_path / "broken.gguf", warmup=False)
    with pytest.raises(ModelNotFoundError, match="not found"):
        LlamaCppResponder.load(adapter=tmp_path / "nope.gguf", warmup=False)
