"""``emotion-agent`` command line: analyze, train, eval, chat, serve, bench, sample, demo, labels.

Every command and sub-command is an argparse sub-parser, so ``emotion-agent train text --help`` lists
all of its options.  The offline tools (``emotion_agent.training``) add their own options through
``build_*_parser(parser)`` and run from the parsed Namespace (``run_*(args)``); they are imported only
for the sub-command being run (or whose ``--help`` is asked), so the runtime commands start fast.

Known failures (bad media, missing model, bad data) end with one line on stderr and exit code 2,
never a traceback; set ``EMOTION_AGENT_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from emotion_agent.core.labels import LABELS

EXPERTS = ("text", "voice", "face")
FUSERS = ("attention", "average", "max_confidence", "concat", "transformer")


def _quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    logging.getLogger("faster_whisper").setLevel(logging.ERROR)
    logging.getLogger("transformers").setLevel(logging.ERROR)


def _known_errors() -> tuple[type[BaseException], ...]:
    from emotion_agent.core.labels import UnknownLabelError
    from emotion_agent.core.models import ModelNotFoundError
    from emotion_agent.perception.audio import AudioFormatError
    from emotion_agent.perception.decode import MediaDecodeError
    from emotion_agent.training.datasets import DatasetError

    return (MediaDecodeError, ModelNotFoundError, DatasetError, AudioFormatError, UnknownLabelError,
            FileNotFoundError, ValueError)


def _settings(args: argparse.Namespace) -> Any:
    from emotion_agent.core.settings import get_settings

    updates: dict[str, Any] = {}
    if getattr(args, "fusion", None):
        updates["fusion"] = args.fusion
    if getattr(args, "rms_gate", None) is not None:
        updates["rms_gate"] = args.rms_gate
    if getattr(args, "responder", None):
        updates["responder"] = args.responder
    return get_settings().model_copy(update=updates)


def cmd_analyze(args: argparse.Namespace) -> int:
    import asyncio

    from emotion_agent.agent.analyze import analyze_path, analyze_text
    from emotion_agent.agent.components import Components
    from emotion_agent.agent.executors import BoundedExecutor

    if args.path is None and args.text is None:
        raise ValueError("give a media file, a .txt file, or --text TEXT")
    components = Components(settings=_settings(args))
    executor = BoundedExecutor(max_workers=2)
    try:
        if args.path is None:
            result = asyncio.run(analyze_text(args.text, components, executor))
        else:
            result = asyncio.run(analyze_path(Path(args.path), components, executor, text=args.text,
                                              context_turns=args.context_turns))
    finally:
        executor.shutdown()
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


def cmd_chat(args: argparse.Namespace) -> int:
    from emotion_agent.agent.chat import run_chat

    return run_chat(_settings(args), profile=args.profile, show_json=args.json)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from emotion_agent.web.app import create_app
    from emotion_agent.web.config import get_web_settings

    updates: dict[str, Any] = {}
    if args.secret_file is not None:
        updates["secret"] = Path(args.secret_file).read_text(encoding="utf-8").strip()
    if args.allowed_origin:
        updates["allowed_origins"] = list(args.allowed_origin)
    if args.frame_ancestor:
        updates["frame_ancestors"] = list(args.frame_ancestor)
    if args.worker_id:
        updates["worker_id"] = args.worker_id
    if args.max_sessions is not None:
        updates["max_sessions"] = args.max_sessions
    if args.no_docs:
        updates["docs"] = False
    web = get_web_settings().model_copy(update=updates)
    app = create_app(settings=_settings(args), web_settings=web, bind_host=args.host)  # refuses an open bind
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws_max_size=1 << 20,
                forwarded_allow_ips=args.forwarded_allow_ips)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from emotion_agent.web.tokens import main as token_main

    argv = [a for origin in args.origin or [] for a in ("--origin", origin)]
    argv += ["--ttl", str(args.ttl), "--scope", args.scope] + (["--profile", args.profile] if args.profile else [])
    token_main(argv)
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    print(" ".join(LABELS))
    return 0


class Tool(NamedTuple):
    """An offline sub-command: ``module.build(parser)`` adds its options, ``module.run(args)`` runs it."""

    help: str
    module: str
    build: str
    run: str
    description: str | None = None
    """``None``: the module's docstring."""


_T = "emotion_agent.training."
TRAIN: dict[str, Tool] = {
    "text": Tool("train the text expert on GoEmotions, MELD, EmoryNLP and the authored corpus, with dialogue "
                 "context", _T + "text_context_train", "build_train_parser", "run_train"),
    "text-ensemble": Tool("combine text experts trained by `train text` into one ensemble, calibrated on the "
                          "held-out slice", _T + "text_ensemble_train", "build_parser", "run"),
    "text-goemotions": Tool("the previous text expert: GoEmotions only, no context (baselines, --baselines)",
                            _T + "text_train", "build_train_parser", "run_train"),
    "voice": Tool("train the voice expert on RAVDESS actors 01-16 (17-20 held out)",
                  _T + "voice_train", "build_train_parser", "run_train"),
    "face": Tool("fine-tune the face expert on FER-2013 train", _T + "face_train", "build_train_parser", "run_train"),
    "fusion": Tool("train and calibrate the fusers on the experts' held-out outputs",
                   _T + "fusion_train", "build_train_parser", "run_train"),
    "safety": Tool("train the risk screen's classifier on corpora/crisis", _T + "safety_train",
                   "build_train_parser", "run_train"),
    "responder": Tool("fine-tune the reply model on corpora/dialogue (SmolLM2 LoRA → GGUF adapter, or DialoGPT/T5)",
                      _T + "responder_train", "build_train_parser", "run_train"),
}
EVAL: dict[str, Tool] = {
    "text": Tool("score the text expert on GoEmotions/authored .tsv or MELD/EmoryNLP .csv (with dialogue "
                 "context)", _T + "text_context_train", "build_eval_parser", "run_eval",
                 "Score the text expert on labelled messages, with the previous turns as context\n"
                 "(MELD/EmoryNLP dialogue order, the authored TSV's `previous` column; --no-context to compare)."),
    "voice": Tool("score the voice expert on a RAVDESS-layout folder", _T + "voice_train",
                  "build_eval_parser", "run_eval",
                  "Score the voice expert on every labelled clip of a RAVDESS-layout folder (or --actors).\n"
                  "The committed model was trained on actors 01-16: --actors 17-20 is its held-out figure."),
    "face": Tool("score the face expert on a FER-format .npz", _T + "face_train", "build_eval_parser", "run_eval",
                 "Score the face expert on every row of a FER-format .npz (or one --split).\n"
                 "The committed model's held-out figure is --split PublicTest."),
    "fusion": Tool("every fuser and the best single expert on one table", _T + "fusion_eval",
                   "build_eval_parser", "run_eval"),
    "safety": Tool("recall/precision of the safety screen on a labelled TSV", _T + "safety_train",
                   "build_eval_parser", "run_eval", "Screen every row of a labelled TSV; recall, precision, misses."),
    "replies": Tool("run conversation scripts through the agent and score the replies",
                    _T + "replies_eval", "build_eval_parser", "run_eval"),
}
TOOLS: dict[str, Tool] = {
    "bench": Tool("latency and capacity benchmark of the live session code", _T + "bench",
                  "build_bench_parser", "run_bench"),
    "sample": Tool("write a demo clip (RAVDESS speech + a FER face) from the shared data",
                   _T + "sample", "build_sample_parser", "run_sample"),
    "demo": Tool("write a demo clip with speech synthesised here (no data needed)",
                 _T + "demo", "build_demo_parser", "run_demo"),
}


def _add_tool(subs: Any, name: str, tool: Tool, full: bool) -> None:
    """A sub-parser for ``tool``; its options (and so its module's import) only when ``full``."""
    p = subs.add_parser(name, help=tool.help, description=tool.description or tool.help,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    if full:
        module = importlib.import_module(tool.module)
        if tool.description is None and module.__doc__:
            p.description = module.__doc__
        getattr(module, tool.build)(p)
        p.set_defaults(_run=getattr(module, tool.run))


def build_parser(path: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole ``emotion-agent`` parser.

    ``path`` (the command line's first words, e.g. ``["train", "text"]``) limits which offline
    sub-commands get their options, so only that one's module is imported; ``None`` builds them all.
    """
    def wanted(*words: str) -> bool:
        return path is None or list(path[: len(words)]) == list(words)

    parser = argparse.ArgumentParser(
        prog="emotion-agent", description="Emotion-aware conversational agent: analyze clips or text, train and "
        "evaluate the models, chat, serve the web app, benchmark, make demo clips.",
        epilog="`emotion-agent COMMAND --help` (and `emotion-agent train WHAT --help`) lists a command's options.")
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = subs.add_parser("analyze", help="per-utterance emotions of a clip (video/audio) or text",
                        description="Per-utterance emotions of a clip (video/audio) or of text.")
    p.add_argument("path", nargs="?", default=None, help="wav/flac/mp3/mp4/webm/... or .txt")
    p.add_argument("--text", default=None, help="the words (for text-only use, or instead of ASR)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fusion", choices=FUSERS, default=None, help="fuser (default: settings)")
    p.add_argument("--rms-gate", type=float, default=None, help="skip the voice expert below this RMS (seed: 0.008)")
    p.add_argument("--context-turns", type=int, default=0,
                   help="read each utterance with this many earlier ones as context (default 0: a recording's "
                        "earlier utterances are usually the same speaker, not a dialogue partner)")
    p.set_defaults(_run=cmd_analyze)

    for verb, tools, what in (("train", TRAIN, "train an expert, the fusers or the safety classifier"),
                              ("eval", EVAL, "evaluate an expert, the fusers or the safety screen on held-out data")):
        p = subs.add_parser(verb, help=what, description=what[0].upper() + what[1:] + ".")
        inner = p.add_subparsers(dest="what", required=True, metavar="WHAT")
        for name, tool in tools.items():
            _add_tool(inner, name, tool, wanted(verb, name))

    p = subs.add_parser("chat", help="terminal chat with emotion-aware replies",
                        description="Terminal chat with emotion-aware replies; /file PATH sends a clip as a turn.")
    p.add_argument("--profile", default="default", choices=("default", "customer_service", "mental_health", "casual"))
    p.add_argument("--fusion", choices=FUSERS, default=None, help="fuser (default: settings)")
    p.add_argument("--json", action="store_true", help="print each event as JSON")
    p.add_argument("--responder", choices=("llm", "template", "dialogpt", "t5"), default=None,
                   help="reply model (default: settings, i.e. llm)")
    p.set_defaults(_run=cmd_chat)

    p = subs.add_parser("serve", help="web app with the browser page",
                        description="The web app and its browser page.")
    p.add_argument("--host", default="127.0.0.1", help="(default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="(default: %(default)s)")
    p.add_argument("--fusion", choices=FUSERS, default=None, help="fuser (default: settings)")
    p.add_argument("--secret-file", default=None,
                   help="file holding the server secret for host tokens (or EMOTION_AGENT_SECRET); "
                        "required to serve beyond localhost")
    p.add_argument("--allowed-origin", action="append", default=None,
                   help="page origin allowed on websockets and uploads (repeatable)")
    p.add_argument("--frame-ancestor", action="append", default=None,
                   help="site allowed to embed the page in a frame (repeatable)")
    p.add_argument("--worker-id", default=None, help="this worker's name behind a proxy")
    p.add_argument("--max-sessions", type=int, default=None, help="live sessions on this worker")
    p.add_argument("--no-docs", action="store_true", help="do not serve /docs")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                   help="proxies whose X-Forwarded-For is trusted (default: %(default)s)")
    p.set_defaults(_run=cmd_serve)

    p = subs.add_parser("token", help="mint a short-lived host token (needs EMOTION_AGENT_SECRET)",
                        description="Print a signed, short-lived session token for a host's page.")
    p.add_argument("--origin", action="append", default=None, help="page origin allowed to use it (repeatable)")
    p.add_argument("--ttl", type=float, default=300.0, help="seconds (default: %(default)s)")
    p.add_argument("--scope", choices=("session", "admin"), default="session")
    p.add_argument("--profile", default=None, help="profile the session must use")
    p.set_defaults(_run=cmd_token)

    for name, tool in TOOLS.items():
        _add_tool(subs, name, tool, wanted(name))

    p = subs.add_parser("labels", help="print the label set", description="Print the seven labels in order.")
    p.set_defaults(_run=cmd_labels)
    return parser


_OWN = ("command", "what", "_run")
"""Namespace entries of this parser itself, removed before a tool sees the Namespace."""


def main(argv: list[str] | None = None) -> int:
    _quiet()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[:2]).parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args._run
    options = argparse.Namespace(**{k: v for k, v in vars(args).items() if k not in _OWN})
    try:
        return int(run(options))
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
