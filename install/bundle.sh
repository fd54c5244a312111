#!/usr/bin/env bash
# Builds a release bundle: the built app with its production node_modules, compiled for this
# host's Node and platform, so a box installs it with no npm registry and no compiler
# (install/agent.sh --bundle FILE, install/central.sh --bundle FILE). See docs/OPERATIONS.md.
set -euo pipefail

PROG=hotpot-bundle
# shellcheck source=install/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<EOF
usage: install/bundle.sh [--out DIR] [--source DIR]     (npm run bundle -- [--out DIR])

Writes DIR/hotpot-edge-<version>-<platform>-<arch>-node<ABI>.tar.gz (default DIR: ./release) and its
.sha256. Inside, hotpot-edge/: package.json, package-lock.json, dist/, the runtime assets, the
production node_modules (native modules as built here: run it with the Node major the boxes run,
on their architecture), bundle.json (version, Node, ABI, platform) and SHA256SUMS of every file.

  --out DIR      where the tarball goes (default ./release)
  --source DIR   the built checkout with its node_modules (default: this checkout)
EOF
}

OUT_DIR="$PWD/release"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT_DIR="${2:?--out needs a directory}"; shift 2 ;;
    --source) SOURCE="${2:?--source needs a directory}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

check_node
check_source
[[ -d $SOURCE/node_modules ]] || die "$SOURCE/node_modules is missing: run npm ci first"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/hotpot-edge"
copy_release "$STAGE"

log "production node_modules (copied from $SOURCE, dev dependencies pruned offline)"
cp -R "$SOURCE/node_modules" "$STAGE/node_modules"
(cd "$STAGE" && npm_config_update_notifier=false npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >&2) ||
  die "npm prune failed in $STAGE"
# A native module that does not load here would not load on the box either.
"$NODE_BIN" -e '
  const { createRequire } = require("node:module");
  const load = createRequire(process.argv[1] + "/package.json");
  const Database = load("better-sqlite3");
  new Database(":memory:").prepare("SELECT 1").get();
' "$STAGE" || die "better-sqlite3 in the bundle does not load with $NODE_BIN: run npm ci with this Node first"

version="$(json_get "$STAGE/package.json" version)"
abi="$("$NODE_BIN" -p 'process.versions.modules')"
platform="$("$NODE_BIN" -p 'process.platform + "-" + process.arch')"
"$NODE_BIN" -e '
  const [file, version] = process.argv.slice(1);
  const bundle = { name: "hotpot-edge", version, node: process.version, nodeAbi: process.versions.modules, napi: process.versions.napi, platform: process.platform, arch: process.arch };
  require("node:fs").writeFileSync(file, JSON.stringify(bundle, null, 2) + "\n");
' "$STAGE/bundle.json" "$version"
(cd "$STAGE" && find . -type f ! -name SHA256SUMS -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >SHA256SUMS)

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
tarball="$OUT_DIR/hotpot-edge-$version-$platform-node$abi.tar.gz"
# Same content → same bytes: fixed order, owner and times.
tar -C "$WORK" --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' -cf - hotpot-edge | gzip -n >"$tarball"
(cd "$OUT_DIR" && sha256sum "$(basename "$tarball")" >"$(basename "$tarball").sha256")
log "wrote $tarball ($(du -h "$tarball" | cut -f1)), Node $("$NODE_BIN" --version) ABI $abi, and its .sha256"
