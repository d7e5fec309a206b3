#!/usr/bin/env bash
# setup.sh: make a fresh Debian 12 machine ready to build, test and run wisp, then
# build it. Idempotent: a second run installs nothing and rebuilds only what changed.
#
#   scripts/setup.sh              install packages, make the WASI sysroot, build
#                                 build/release (wisp and the example guests)
#   scripts/setup.sh --no-build   install packages and make the sysroot only
#
# Steps:
#   1. Debian packages for the build, the tests, guest toolchain and later
#      layers (HTTP, store, benchmarks). apt runs only when one is missing
#      (checked with dpkg-query), with one `apt-get update` before the install.
#      Node.js: this project uses the machine's `node` when there is one (the
#      machines here have Node 20); Debian's nodejs + npm are installed only if
#      `node` is absent.
#   2. npm packages for the component-model tests (scripts/setup-npm.sh: jco,
#      componentize-js, preview2-shim into node_modules/; skipped when present).
#   3. The clean wasm32-wasi sysroot of shared TOOLCHAIN.md: build/wasi-sysroot.
#   4. The release build in build/release (-DCMAKE_BUILD_TYPE=Release), which also
#      builds the example guest modules into build/release/examples/, and the
#      HTTP examples next to their wisp.toml (examples/http/build.sh).
#
# Runs as root (like CI) or through sudo. WISP_JOBS sets build parallelism (default 2).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
jobs=${WISP_JOBS:-2}
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

packages=(
  # build
  build-essential cmake pkg-config
  # guest toolchain: C -> wasm32 / wasm32-wasi (TOOLCHAIN.md), libFuzzer runtime
  clang-19 lld-19 wasi-libc libclang-rt-19-dev-wasm32 libclang-rt-19-dev
  # reference tools: wast2json, wasm-objdump, wasm2c; wasm-opt
  wabt binaryen
  # spec/WASI test expectations are JSON; the server's end-to-end tests are Python,
  # and use curl (HTTP/2) and openssl (a TLS certificate)
  libjansson-dev python3 curl openssl
  # server, outbound HTTP, store (later layers)
  libh2o-evloop-dev libcurl4-openssl-dev libsqlite3-dev
  # benchmarks: load generators, reference server, command timing
  wrk nginx-light hyperfine
)
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup.sh: not root and no sudo: cannot install packages" >&2; exit 1; }
    sudo=(sudo)
  fi
  # Installing a package must not start its service (nginx would take port 80
  # on a build machine): a temporary policy-rc.d says no, unless one exists.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    own_policy=1
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y "${missing[@]}"
  if [ $own_policy -eq 1 ]; then
    "${sudo[@]}" rm -f "$policy"
    trap - EXIT
  fi
else
  say "Debian packages: all ${#packages[@]} installed"
fi

# The npm packages serve only the component tests, which print SKIPPED without
# them: a registry that cannot be reached is a warning here, not a failed setup.
if [ -x scripts/setup-npm.sh ] && ! scripts/setup-npm.sh; then
  echo "setup.sh: WARNING: scripts/setup-npm.sh failed: the component tests will be skipped" >&2
fi

sysroot=$(scripts/build-guest.sh --sysroot)
say "WASI sysroot: ${sysroot#"$repo"/}"

if [ $build -eq 1 ]; then
  say "building build/release"
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/release -j"$jobs"
  say "built build/release/wisp and the example guests in build/release/examples/"
  if [ -x examples/http/build.sh ]; then
    examples/http/build.sh
  fi
fi
