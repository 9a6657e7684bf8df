#!/usr/bin/env bash
# `npm run setup:torch`: a virtual environment with CPU PyTorch in .cache/torch-venv, the speed
# anchor that `npm run bench` prints beside its own figures. Uses a local CPU wheel from
# $PIP_FIND_LINKS when there is one (no network needed), else PyTorch's CPU package index.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.cache/torch-venv
python3 -m venv "$venv"
wheel=$(ls -1 "${PIP_FIND_LINKS:-/nonexistent}"/torch-*cpu*.whl 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$wheel" ]; then
  "$venv/bin/pip" install --quiet "$wheel"
else
  "$venv/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu
fi
"$venv/bin/python" -c 'import torch; print("PyTorch", torch.__version__, "in '"$venv"'")'
