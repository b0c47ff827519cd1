#!/usr/bin/env bash
# Install emotion-agent into ./.venv with the CPU build of torch.
#   bash scripts/setup.sh            # runtime + dev tools + the offline reply model (llama.cpp)
#   SKIP_LLM=1 bash scripts/setup.sh # without llama-cpp-python (replies fall back to templates)
#   WITH_BROWSER=1 bash scripts/setup.sh  # also Debian's chromium + chromium-driver + firefox-esr (browser tests)
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
extras="dev"
if [ -z "${SKIP_LLM:-}" ]; then
  extras="dev,llm"
  # llama-cpp-python builds from source (about 10 minutes on 2 cores); portable flags.
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
fi
pip install -q -e ".[${extras}]"
if [ -n "${WITH_BROWSER:-}" ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="chromium chromium-driver"
  command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || missing="$missing firefox-esr"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
  fi
fi
echo "emotion-agent installed in .venv"
