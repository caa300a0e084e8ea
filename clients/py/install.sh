#!/usr/bin/env bash
# Installs web3.py and eth-account (exact versions from requirements.txt, from PyPI) into a
# virtual environment beside this script. Run by paratimes/evm/tests/rpc.rs when the
# environment is missing; needs Python 3.11 with venv and pip.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
