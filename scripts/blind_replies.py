"""Blind rating of `emotion-agent eval replies` transcripts from two systems (issue 13).

    python scripts/blind_replies.py pack before/replies.jsonl after/replies.jsonl \
        --out docs/replies_eval/blind --key ~/.cache/emotion-agent/evals/blind_key.json
    # a rater (who never sees the key) fills docs/replies_eval/blind/ratings.tsv against
    # corpora/dialogue/RUBRIC.md, then:
    python scripts/blind_replies.py score docs/replies_eval/blind/ratings.tsv \
        --key ~/.cache/emotion-agent/evals/blind_key.json --names before,after > docs/replies_eval/blind/SCORES.md

``pack`` writes every conversation of both systems as one transcript, named ``<script>_A`` or ``_B``
with the letter drawn at random per script (so A is not always the same system), in a shuffled order,
plus an empty ``ratings.tsv`` with one row per reply; the key (which letter is which system) goes to
a file outside the repository.  ``score`` applies the key to the ratings and prints the table.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

CRITERIA = ("on_topic", "fits_feeling", "fits_profile", "no_invented_facts")


def read_records(path: Path) -> dict[str, list[dict[str, Any]]]:
    by_script: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_script[row["script"]].append(row)
    return {k: sorted(v, key=lambda r: r["turn"]) for k, v in by_script.items()}


def pack(a: Path, b: Path, out: Path, key_path: Path, seed: int) -> None:
    systems = [read_records(a), read_records(b)]
    scripts = sorted(set(systems[0]) & set(systems[1]))
    if not scripts:
        raise SystemExit("the two record files share no script")
    rng = random.Random(seed)
    key: dict[str, int] = {}
    blocks: list[tuple[str, list[dict[str, Any]]]] = []
    for script in scripts:
        order = [0, 1]
        rng.shuffle(order)
        for letter, system in zip("AB", order, strict=True):
            name = f"{script}_{letter}"
            key[name] = system
            blocks.append((name, systems[system][script]))
    rng.shuffle(blocks)
    out.mkdir(parents=True, exist_ok=True)
    lines, rows = [], ["transcript\tturn\t" + "\t".join(CRITERIA)]
    for name, records in blocks:
        lines.append(f"# transcript {name}   profile: {records[0]['profile']}")
        for r in records:
            lines += [f"USER: {r['user']}", f"AGENT: {r['reply']}"]
            rows.append(f"{name}\t{r['turn']}" + "\t" * len(CRITERIA))
        lines.append("")
    (out / "transcripts.txt").write_text("\n".join(lines), encoding="utf-8")
    (out / "ratings.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.write_text(json.dumps({"systems": [str(a), str(b)], "key": key}, indent=1), encoding="utf-8")
    print(f"{len(blocks)} transcripts, {len(rows) - 1} replies → {out}; key → {key_path}")


def score(ratings: Path, key_path: Path, names: list[str]) -> None:
    key = json.loads(key_path.read_text(encoding="utf-8"))["key"]
    cells: dict[str, list[list[int]]] = defaultdict(list)
    header, *body = [line.split("\t") for line in ratings.read_text(encoding="utf-8").splitlines() if line.strip()]
    idx = [header.index(c) for c in CRITERIA]
    for row in body:
        transcript = row[0]
        values = [int(row[i]) for i in idx]
        system = names[key[transcript]]
        profile = transcript.rsplit("_", 2)[0]
        cells[system].append(values)
        cells[f"{system}/{profile}"].append(values)
    print("| system[/profile] | replies | on-topic | fits feeling | fits profile | no invented facts "
          "| good (4/4) | on-topic + feeling + profile |")
    print("|---|---|---|---|---|---|---|---|")
    for name in sorted(cells):
        vals = cells[name]
        n = len(vals)
        means = [sum(v[i] for v in vals) / n for i in range(len(CRITERIA))]
        good = sum(all(v) for v in vals) / n
        fitting = sum(v[0] and v[1] and v[2] for v in vals) / n
        print(f"| {name} | {n} | " + " | ".join(f"{m:.2f}" for m in means) + f" | {good:.1%} | {fitting:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="shuffle two systems' transcripts into a blind packet")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--key", type=Path, required=True, help="where the key goes (outside the repository)")
    p.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("score", help="apply the key to filled ratings and print the table")
    s.add_argument("ratings", type=Path)
    s.add_argument("--key", type=Path, required=True)
    s.add_argument("--names", default="a,b", help="names of the two systems, in pack's order")
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.a, args.b, args.out, args.key, args.seed)
    else:
        score(args.ratings, args.key, args.names.split(","))


if __name__ == "__main__":
    main()
