#!/usr/bin/env bash
# setup-npm.sh: install the npm packages the component-model tests need into the
# repo's node_modules/ (not saved in any package.json): jco (component tools and
# the WASI preview1 -> 0.2 adapters), componentize-js (JavaScript components) and
# preview2-shim (jco's WASI 0.2 host on Node, also used to open the filesystem
# for `jco ... --wit DIR`). See shared TOOLCHAIN.md.
#
#   scripts/setup-npm.sh          install when node_modules/@bytecodealliance/jco is missing
#   scripts/setup-npm.sh --force  install again
#
# Idempotent: a second run does nothing. Needs `node` and `npm` (setup.sh installs them).
# tests/component/ prints SKIPPED when node_modules/@bytecodealliance/jco is absent.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-npm.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if ! command -v npm >/dev/null 2>&1; then
  echo "setup-npm.sh: npm not found (run scripts/setup.sh first)" >&2
  exit 1
fi
if [ "$force" = 0 ] && [ -f node_modules/@bytecodealliance/jco/package.json ] \
   && [ -f node_modules/@bytecodealliance/preview2-shim/package.json ] \
   && [ -f node_modules/@bytecodealliance/componentize-js/package.json ]; then
  echo "==> npm packages already in node_modules/"
  exit 0
fi
echo "==> npm install jco, componentize-js, preview2-shim into node_modules/"
npm install --no-save --no-audit --no-fund \
  @bytecodealliance/jco @bytecodealliance/componentize-js @bytecodealliance/preview2-shim
