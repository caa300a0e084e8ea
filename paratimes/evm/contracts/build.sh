#!/bin/sh
# Compiles the test contracts with stock solc (the npm build, pinned) and writes their
# creation bytecode beside them as hex: `sh paratimes/evm/contracts/build.sh`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-save solc@0.8.28 >/dev/null)
for source in "$here"/*.sol; do
    name=$(basename "$source" .sol)
    # solc 0.8.28 targets Cancun by default, which the ParaTime's Prague runs unchanged.
    (cd "$here" && "$work/node_modules/.bin/solcjs" --bin --optimize --optimize-runs 200 \
        -o "$work/out" "$(basename "$source")")
    cp "$work/out/${name}_sol_${name}.bin" "$here/$name.bin"
done
