"""``emotion-agent`` command line: analyze, train, eval, chat, serve, bench.

Known failures (bad media, missing model, bad data) end with one line on stderr and exit code 2,
never a traceback; set ``EMOTION_AGENT_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from emotion_agent.labels import LABELS

EXPERTS = ("text", "voice", "face")
FUSERS = ("attention", "average", "max_confidence", "concat", "transformer")


def _quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    logging.getLogger("faster_whisper").setLevel(logging.ERROR)
    logging.getLogger("transformers").setLevel(logging.ERROR)


def _known_errors() -> tuple[type[BaseException], ...]:
    from emotion_agent.datasets import DatasetError
    from emotion_agent.labels import UnknownLabelError
    from emotion_agent.models import ModelNotFoundError
    from perception.audio import AudioFormatError
    from perception.decode import MediaDecodeError

    return (MediaDecodeError, ModelNotFoundError, DatasetError, AudioFormatError, UnknownLabelError,
            FileNotFoundError, ValueError)


def _settings(args: argparse.Namespace) -> Any:
    from emotion_agent.settings import get_settings

    updates: dict[str, Any] = {}
    if getattr(args, "fusion", None):
        updates["fusion"] = args.fusion
    if getattr(args, "rms_gate", None) is not None:
        updates["rms_gate"] = args.rms_gate
    if getattr(args, "responder", None):
        updates["responder"] = args.responder
    return get_settings().model_copy(update=updates)


def cmd_analyze(args: argparse.Namespace) -> int:
    from agent.analyze import analyze_path, analyze_text
    from agent.components import Components

    if args.path is None and args.text is None:
        raise ValueError("give a media file, a .txt file, or --text TEXT")
    components = Components(settings=_settings(args))
    if args.path is None:
        result = analyze_text(args.text, components)
    else:
        result = analyze_path(Path(args.path), components, text=args.text)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_analysis(result))
    return 0


def format_analysis(result: dict[str, Any]) -> str:
    lines = [f"{result['source']}: {len(result['utterances'])} utterance(s)"]
    if not result["utterances"]:
        lines.append("  no speech found")
    for i, utt in enumerate(result["utterances"], 1):
        lines.append(f"[{i}] {utt['start']:.2f}-{utt['end']:.2f}s  \"{utt['transcript'] or ''}\"")
        for modality in EXPERTS:
            scores = utt["experts"][modality]
            if scores is None:
                why = utt.get("skipped", {}).get(modality, "missing")
                lines.append(f"    {modality:<6} -        ({why})")
            else:
                top = sorted(scores["probs"].items(), key=lambda kv: -kv[1])[:3]
                lines.append(f"    {modality:<6} {scores['label']:<10} "
                             + "  ".join(f"{k} {v:.2f}" for k, v in top))
        fused = utt["fused"]
        if fused is None:
            lines.append("    fused  -")
        else:
            weights = "  ".join(f"α_{k}={v:.2f}" for k, v in fused["weights"].items())
            flag = " (uncertain)" if fused["uncertain"] else ""
            lines.append(f"    fused  {fused['label']:<10} conf {fused['confidence']:.2f}{flag}  {weights}")
            lines.append(f"           {fused['explanation']}")
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace, rest: list[str]) -> int:
    if args.what == "fusion":
        from fusion.fusion_train import train_main
    elif args.what == "text":
        from fusion.experts.text_train import train_main
    elif args.what == "voice":
        from fusion.experts.voice_train import train_main
    else:
        from fusion.experts.face_train import train_main
    return int(train_main(rest))


def cmd_eval(args: argparse.Namespace, rest: list[str]) -> int:
    if args.what == "fusion":
        from fusion.fusion_eval import eval_main

        return int(eval_main(rest))
    sub = argparse.ArgumentParser(prog=f"emotion-agent eval {args.what}")
    sub.add_argument("--data", required=True, type=Path, help="held-out data in the shared format")
    sub.add_argument("--model", default=None, help="model folder or file (default: the committed one)")
    sub.add_argument("--json", action="store_true", help="last line: one JSON object")
    sub.add_argument("--report-dir", type=Path, default=None, help="also write report JSON + confusion PNG")
    opts = sub.parse_args(rest)
    if args.what == "text":
        from fusion.experts.text_train import eval_data
    elif args.what == "voice":
        from fusion.experts.voice_train import eval_data
    else:
        from fusion.experts.face_train import eval_data
    from fusion.metrics import classification_report, format_report, save_report

    probs, y_true = eval_data(opts.data, opts.model)
    report = classification_report(probs, y_true)
    report["data"] = str(opts.data)
    print(format_report(report, title=f"{args.what} expert on {opts.data}"))
    if opts.report_dir is not None:
        save_report(report, opts.report_dir, f"eval_{args.what}")
    if opts.json:
        print(json.dumps({k: report[k] for k in ("n", "accuracy", "macro_f1", "ece", "per_class_f1")}))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from agent.chat import run_chat

    return run_chat(_settings(args), profile=args.profile, show_json=args.json)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.app import create_app

    uvicorn.run(create_app(settings=_settings(args)), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from emotion_agent.sample import make_sample
    from emotion_agent.settings import get_settings

    out = make_sample(Path(args.out), get_settings().data_dir, clip=args.clip, with_face=not args.audio_only)
    print(out)
    return 0


def cmd_bench(args: argparse.Namespace, rest: list[str]) -> int:
    from agent.bench import bench_main

    return int(bench_main(rest))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emotion-agent", description=__doc__.splitlines()[0])
    subs = parser.add_subparsers(dest="command", required=True)

    p = subs.add_parser("analyze", help="per-utterance emotions of a clip (video/audio) or text")
    p.add_argument("path", nargs="?", default=None, help="wav/flac/mp3/mp4/webm/... or .txt")
    p.add_argument("--text", default=None, help="the words (for text-only use, or instead of ASR)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fusion", choices=FUSERS, default=None)
    p.add_argument("--rms-gate", type=float, default=None, help="skip the voice expert below this RMS (seed: 0.008)")

    p = subs.add_parser("train", help="train an expert or the fusers (extra args go to the trainer)")
    p.add_argument("what", choices=(*EXPERTS, "fusion"))
    p = subs.add_parser("eval", help="evaluate an expert or the fusers on held-out data")
    p.add_argument("what", choices=(*EXPERTS, "fusion"))

    p = subs.add_parser("chat", help="terminal chat with emotion-aware replies")
    p.add_argument("--profile", default="default", choices=("default", "customer_service", "mental_health"))
    p.add_argument("--fusion", choices=FUSERS, default=None)
    p.add_argument("--json", action="store_true", help="print each event as JSON")
    p.add_argument("--responder", choices=("llm", "template", "dialogpt", "t5"), default=None,
                   help="reply model (default: settings, i.e. llm)")

    p = subs.add_parser("serve", help="web app with the browser page")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--fusion", choices=FUSERS, default=None)

    subs.add_parser("bench", help="latency and capacity benchmark (extra args go to the bench)")
    p = subs.add_parser("sample", help="write a demo clip (RAVDESS speech + a FER face) from the shared data")
    p.add_argument("out", help="output .mp4 (or .wav with --audio-only)")
    p.add_argument("--clip", default="Actor_17/03-01-05-02-01-01-17.flac", help="RAVDESS clip path")
    p.add_argument("--audio-only", action="store_true")

    subs.add_parser("labels", help="print the label set")
    return parser


def main(argv: list[str] | None = None) -> int:
    _quiet()
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("train", "eval", "bench"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "train":
            return cmd_train(args, rest)
        if args.command == "eval":
            return cmd_eval(args, rest)
        if args.command == "chat":
            return cmd_chat(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "sample":
            return cmd_sample(args)
        if args.command == "bench":
            return cmd_bench(args, rest)
        print(" ".join(LABELS))
        return 0
    except KeyboardInterrupt:
        return 130
    except _known_errors() as exc:
        if os.environ.get("EMOTION_AGENT_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"emotion-agent: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
