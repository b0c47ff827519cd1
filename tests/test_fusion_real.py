"""The committed fusers on the real held-out pools (slow: the first run builds the experts' caches,
~10 min on 2 cores; afterwards seconds).  Checks the stated targets the fusers meet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotion_agent.core.settings import get_settings

pytestmark = pytest.mark.slow


def test_eval_fusion_on_real_pools(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emotion_agent.training.fusion_eval import eval_main

    settings = get_settings()
    needed = [data_dir / "ravdess_speech_16k", data_dir / "fer2013" / "fer2013_train_publictest.npz",
              data_dir / "goemotions" / "dev.tsv", Path(settings.fuser_weights) / "attention.pt",
              Path(settings.text_expert) / "model.pt"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        pytest.skip(f"missing: {missing}")
    code = eval_main(["--voice-data", str(needed[0]), "--face-data", str(needed[1]), "--text-data", str(needed[2]),
                      "--json"])
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    rows = json.loads(out[-1])
    assert set(rows) == {"best_single_expert", "attention", "average", "max_confidence", "concat", "transformer"}
    att, best = rows["attention"], rows["best_single_expert"]
    assert att["all"]["accuracy"] >= best["all"]["accuracy"] + 0.10
    for cond in ("no_face", "no_voice", "no_text"):
        assert att[cond]["accuracy"] >= best[cond]["accuracy"], cond
    assert att["ece"] <= 0.05
    assert att["asr"]["accuracy"] > rows["average"]["asr"]["accuracy"]  # the neutral words are discounted
