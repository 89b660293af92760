#!/usr/bin/env bash
# Runs the whole test suite (`npm test`) under the Node 24 LTS that dist/jobctl embeds, so the code is
# known to work on the runtime users get, not only on the development Node 20.
#
# The SQLite addon: node_modules keeps the one built for Node 20 (the normal run needs it).
# `scripts/build-binary.mjs --runtime-only` installs Node 24 and compiles a separate addon for it into
# .build-node24/, and scripts/node24-sqlite-preload.cjs, preloaded into every Node process of the run
# through NODE_OPTIONS, makes better-sqlite3 load that one. Nothing shared is rebuilt or restored, so
# an interrupted run, or a Node 20 run at the same time, can never be left with the wrong addon; and
# because the switch is where better-sqlite3 looks its addon up, every way of opening SQLite (the
# store, test helpers, fixtures in child processes) is covered without knowing about it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prints JOBCTL_NODE24_BIN=… and JOBCTL_NODE24_SQLITE_ADDON=… (installs / compiles only what is missing).
eval "$(node scripts/build-binary.mjs --runtime-only)"
export JOBCTL_NODE24_SQLITE_ADDON
export PATH="$JOBCTL_NODE24_BIN:$PATH"
export NODE_OPTIONS="--require \"$PWD/scripts/node24-sqlite-preload.cjs\" ${NODE_OPTIONS:-}"
# The QEMU guests of test/vm always run the host's /usr/bin/node with a clean environment (see
# scripts/vm/guest-init.sh), so here they would only repeat the first run's Node 20 work.
export JOBCTL_SKIP_VM=1

version=$(node --version)
case "$version" in
  v24.*) ;;
  *) echo "test-node24: expected Node 24 first on PATH, got $version" >&2; exit 1 ;;
esac
node -e "require('better-sqlite3')(':memory:').close()" || { echo "test-node24: better-sqlite3 does not load under $version" >&2; exit 1; }
echo "== tests under Node $version (SQLite addon: $JOBCTL_NODE24_SQLITE_ADDON)"
npm test
