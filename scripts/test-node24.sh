#!/usr/bin/env bash
# Runs the whole test suite (`npm test`) under the Node 24 LTS that dist/jobctl embeds, so the code is
# known to work on the runtime users get, not only on the development Node 20.
#
# How the SQLite addon is swapped: node_modules keeps the Node 20 addon (the normal run needs it);
# scripts/build-binary.mjs --runtime-only compiles a separate copy for Node 24 into .build-node24/,
# and JOBCTL_SQLITE_ADDON points src/store/native-binding.ts at it. Nothing shared is rebuilt or
# restored, so an interrupted run, or a Node 20 run at the same time, cannot be left with the wrong
# addon; a place that opened SQLite without native-binding.ts would fail loudly (wrong
# NODE_MODULE_VERSION), not silently use the other one.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prints JOBCTL_NODE24_BIN=… and JOBCTL_SQLITE_ADDON=… (installs / compiles only what is missing).
eval "$(node scripts/build-binary.mjs --runtime-only)"
export JOBCTL_SQLITE_ADDON
export PATH="$JOBCTL_NODE24_BIN:$PATH"
# The QEMU guests of test/vm always run the host's /usr/bin/node (their PATH is fixed by
# scripts/vm/guest-init.sh), so here they would only repeat the first run's Node 20 work.
export JOBCTL_SKIP_VM=1

version=$(node --version)
case "$version" in
  v24.*) ;;
  *) echo "test-node24: expected Node 24 first on PATH, got $version" >&2; exit 1 ;;
esac
echo "== tests under Node $version (SQLite addon: $JOBCTL_SQLITE_ADDON)"
npm test
