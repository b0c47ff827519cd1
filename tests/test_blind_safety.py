"""``scripts/blind_safety.py``: the blind A/B packer and scorer for crisis handling (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from emotion_agent.core.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "blind_safety.py"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=True)
    return done.stdout


def test_pack_keeps_differing_conversations_blind_and_score_applies_the_key(tmp_path: Path) -> None:
    for system, reply in (("old", "I'm really sorry you're feeling this way."), ("new", "Are you safe?")):
        for name in ("risk", "every"):
            folder = tmp_path / system / name
            folder.mkdir(parents=True)
            (folder / "a.txt").write_text(f"# profile: casual\nUSER (sad): hi\nAGENT (safety): {reply}\n")
            (folder / "same.txt").write_text("# profile: casual\nUSER (happy): hi\nAGENT (casual): hello\n")
    key = tmp_path / "key.json"
    out = run("pack", "--old", str(tmp_path / "old"), "--new", str(tmp_path / "new"), "--sets", "risk:risk",
              "every:everyday", "--out", str(tmp_path / "pack"), "--raters", "x", "--seed", "1", "--key", str(key))
    assert out.startswith("2 conversations differ")
    packet = (tmp_path / "pack" / "rater_x" / "packet.txt").read_text()
    assert packet.count("=== C") == 2 and "hello" not in packet  # the identical conversation is left out
    assert not list((tmp_path / "pack").rglob("*.json"))  # the key stays outside the packets
    assert "AT RISK" in packet and "EVERYDAY" in packet
    assert "# profile" not in packet and "Profile: casual" in packet
    entries = json.loads(key.read_text())
    rows, prefs = ["conv\tversion\tagent_line\tsafe\tfitting\tnote"], ["conv\tprefer\twhy"]
    for conv, entry in entries.items():
        new = "A" if entry["A"] == "new" else "B"
        old = "B" if new == "A" else "A"
        rows += [f"{conv}\t{new}\t1\t1\t1\t", f"{conv}\t{old}\t1\t1\t0\tpresumes"]
        prefs.append(f"{conv}\t{new}\tasks")
    (tmp_path / "pack" / "rater_x" / "ratings.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "pack" / "rater_x" / "prefer.tsv").write_text("\n".join(prefs) + "\n")
    table = run("score", "--key", str(key), "--raters", str(tmp_path / "pack" / "rater_x"))
    assert "| risk | new | 1 | 1.00 | 1.00 | 100.0% |" in table
    assert "| everyday | old | 1 | 1.00 | 0.00 | 0.0% |" in table
    assert "everyday → new: 1, risk → new: 1" in table
