"""Decoding settings of the fine-tuned reply model, side by side on the dialogue corpus's dev split.

For every exchange of ``corpora/dialogue/dev.jsonl`` (conversations never trained on) the model gets
the trained prompt (profile role line, the previous one or two exchanges with the *authored* replies,
the gold emotion note, the user turn) and writes a reply under each setting.  Printed per setting:

* ``ref_sim``: MiniLM cosine between the reply and the authored reply for that turn (a reference
  proxy for "on-topic and fitting"; the authored replies follow the profile rules);
* ``user_sim``: cosine between the reply and the user turn (on-topic);
* ``mismatch``: share of replies to an angry, sad, fearful or disgusted user that the words expert
  reads as happy;
* ``guard``: share of replies the reply guard flags; ``words``: mean length; ``ms``: mean time.

    python scripts/bench_reply_decoding.py --settings 0.6 0.3 0.0 [--limit 20] [--threads 2]

A setting is ``temperature`` or ``temperature:top_p``.  This is model selection on the dev split;
blind reading of full conversations (``scripts/blind_replies.py``) is the figure that decides.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from emotion_agent.core.protocols import Turn
from emotion_agent.fusion.experts.text import TextExpert
from emotion_agent.responders.guard import ReplyGuard
from emotion_agent.responders.llm import LlamaCppResponder, LlmOptions
from emotion_agent.responders.prompting import tuned_messages_from
from emotion_agent.training.replies_eval import minilm_similarity

ROOT = Path(__file__).resolve().parents[1]
NEGATIVE = {"angry", "sad", "fearful", "disgusted"}


def exchanges(path: Path, limit: int | None) -> list[dict]:
    """(profile, prior turns, user, emotion, mood, reference) for every turn of every dev conversation."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        conv = json.loads(line)
        prior: list[tuple[str, str]] = []
        for turn in conv["turns"]:
            out.append({"profile": conv["profile"], "prior": list(prior[-4:]), "user": turn["user"],
                        "emotion": turn["emotion"], "mood": turn.get("mood", "steady"), "ref": turn["reply"]})
            prior += [("user", turn["user"]), ("assistant", turn["reply"])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "corpora" / "dialogue" / "dev.jsonl")
    ap.add_argument("--settings", nargs="+", default=["0.6", "0.3", "0.0"])
    ap.add_argument("--limit", type=int, default=None, help="first N conversations")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dump", type=Path, default=None, help="write every reply as JSONL here")
    args = ap.parse_args()

    rows = exchanges(args.data, args.limit)
    base = LlamaCppResponder.load(options=LlmOptions(n_threads=args.threads))
    if not base.tuned:
        raise SystemExit(f"the fine-tuned adapter is not applied: {base.adapter_note}")
    sim = minilm_similarity()
    expert = TextExpert.load(threads=1)
    guard = ReplyGuard()
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    print(f"{len(rows)} exchanges from {args.data}")
    print(f"{'setting':>10} {'ref_sim':>8} {'user_sim':>8} {'mismatch':>8} {'guard':>6} {'words':>6} {'ms':>6}")
    for setting in args.settings:
        temp, _, top_p = setting.partition(":")
        base.options = replace(base.options, temperature=float(temp), top_p=float(top_p or base.options.top_p))
        replies, secs = [], []
        for r in rows:
            msgs = tuned_messages_from(r["profile"], [*r["prior"], ("user", r["user"])], r["emotion"], r["mood"])
            t0 = time.perf_counter()
            replies.append("".join(base.stream_messages(msgs)).strip())
            secs.append(time.perf_counter() - t0)
        ref = np.array(sim(replies, [r["ref"] for r in rows]))
        usr = np.array(sim(replies, [r["user"] for r in rows]))
        reads = [str(expert.predict(t).label) if t else "neutral" for t in replies]
        neg = [i for i, r in enumerate(rows) if r["emotion"] in NEGATIVE]
        mismatch = np.mean([reads[i] == "happy" for i in neg]) if neg else 0.0
        flagged = np.mean([bool(guard.check(t, [Turn("user", u) for _, u in r["prior"][::2]] + [Turn("user", r["user"])]))
                           for t, r in zip(replies, rows, strict=True)])
        words = np.mean([len(t.split()) for t in replies])
        print(f"{setting:>10} {ref.mean():8.3f} {usr.mean():8.3f} {mismatch:8.3f} {flagged:6.3f} {words:6.1f} "
              f"{1000 * np.mean(secs):6.0f}", flush=True)
        if dump:
            for r, t, s in zip(rows, replies, ref, strict=True):
                dump.write(json.dumps({"setting": setting, "user": r["user"], "emotion": r["emotion"],
                                       "reply": t, "ref": r["ref"], "ref_sim": round(float(s), 3)}) + "\n")
    if dump:
        dump.close()


if __name__ == "__main__":
    main()
