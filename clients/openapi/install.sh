#!/usr/bin/env bash
# Installs schemathesis and datamodel-code-generator (exact versions from requirements.txt,
# from PyPI) into a virtual environment beside this script. Run by
# crates/node/tests/conformance.rs when the environment is missing; needs Python 3.11 with
# venv and pip.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
