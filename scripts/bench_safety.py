"""Latency of the risk screen per message on this machine: patterns alone, patterns + the trained
classifier, and with the strict level's second opinion (what the agent ships), over the authored dev
messages.

    python scripts/bench_safety.py [--threads 2] [--repeat 2]

Prints P50/P95/max in ms per message and the number of messages.  A script, not a timed test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from emotion_agent.core.settings import PROJECT_ROOT, Settings
from emotion_agent.safety.screen import SafetyPolicy
from emotion_agent.training.safety_train import read_rows


def timings(policy: SafetyPolicy, texts: list[str], level: str, repeat: int) -> np.ndarray:
    out = []
    for _ in range(repeat):
        for text in texts:
            started = time.perf_counter()
            policy.check_user(text, level)
            out.append((time.perf_counter() - started) * 1000)
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", default=str(PROJECT_ROOT / "corpora" / "crisis" / "dev.tsv"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = [r.text for r in read_rows(args.data)]
    started = time.perf_counter()
    full = SafetyPolicy.from_settings(Settings())
    print(f"loaded the screen in {time.perf_counter() - started:.1f} s (classifier: {full.classifier is not None}, "
          f"second opinion: {full.second_opinion is not None})")
    one = SafetyPolicy(classifier=full.classifier)
    full.check_user("I won't be around much longer", "strict")  # warm up both models
    for name, policy in (("patterns only", SafetyPolicy()), ("patterns + classifier", one),
                         ("+ second opinion", full)):
        for level in ("standard", "strict"):
            t = timings(policy, texts, level, args.repeat)
            print(f"{name:<24}{level:<10} n={len(t):>5}  p50 {np.percentile(t, 50):7.2f} ms  "
                  f"p95 {np.percentile(t, 95):7.2f} ms  max {t.max():7.2f} ms")


if __name__ == "__main__":
    main()
