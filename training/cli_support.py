"""What the offline commands share: the expert-eval options and report, and the recorded command line.

Each training/evaluation module exposes ``build_*_parser(parser)`` (adds its options to a given
parser; ``emotion-agent`` passes its sub-command parser) and ``run_*(args)`` (runs from the parsed
Namespace); ``train_main(argv)`` / ``eval_main(argv)`` are thin wrappers for direct use.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def command_line(verb: str, what: str, argv: Sequence[str] | None = None) -> str:
    """``emotion-agent <verb> <what> ...`` as run: from ``argv`` (the sub-command's own arguments) or,
    when ``None``, from ``sys.argv`` (the ``emotion-agent`` entry point, or ``python -m``)."""
    if argv is None:
        args = sys.argv[1:]
        argv = args[2:] if args[:2] == [verb, what] else args
    return " ".join(["emotion-agent", verb, what, *(shlex.quote(a) for a in argv)])


def add_expert_eval_args(parser: argparse.ArgumentParser, data_help: str) -> argparse.ArgumentParser:
    """The options every ``eval {text,voice,face}`` takes; each expert adds its own selectors."""
    parser.add_argument("--data", required=True, type=Path, help=data_help)
    parser.add_argument("--model", default=None, help="model folder or file (default: the committed one)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--report-dir", type=Path, default=None,
                        help="also write eval_<expert>.json and a confusion-matrix PNG here")
    return parser


def print_expert_eval(what: str, title: str, probs: np.ndarray, y_true: np.ndarray,
                      args: argparse.Namespace) -> dict[str, object]:
    """Print the classification report (and the ``--json`` line); write it under ``--report-dir``."""
    from emotion_agent.training.metrics import classification_report, format_report, save_report

    report = classification_report(probs, y_true)
    report["data"] = str(args.data)
    print(format_report(report, title=title))
    if args.report_dir is not None:
        save_report(report, args.report_dir, f"eval_{what}")
    if args.json:
        print(json.dumps({k: report[k] for k in ("n", "accuracy", "macro_f1", "ece", "per_class_f1")}))
    return report
