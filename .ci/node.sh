#!/usr/bin/env bash
# Runs a command (default: the suite, `npm test`) under another Node major, in a copy of this
# checkout with its own node_modules built for that Node:
#   .ci/node.sh 22                                   # npm test under Node 22
#   .ci/node.sh 24 npx vitest run test/install/      # a few files under Node 24
# Node comes from the npm registry (the node-linux-<arch> package: the official Linux build, with
# its headers, which node-gyp needs to compile better-sqlite3 offline). Nothing is fetched from
# nodejs.org. Everything lives in .ci-cache/node-<major>/ and is reused while package-lock.json
# and the Node version stay the same.
set -euo pipefail
cd "$(dirname "$0")/.."

major="${1:?usage: .ci/node.sh MAJOR [COMMAND...]}"
shift
[[ $major =~ ^[0-9]+$ ]] || { echo ".ci/node.sh: MAJOR must be a number such as 22" >&2; exit 2; }
if [[ $# -eq 0 ]]; then set -- npm test; fi

repo="$PWD"
cache="$repo/.ci-cache/node-$major"
arch="$(node -p 'process.arch')"
nodedir="$cache/runtime/node_modules/node-linux-$arch"
app="$cache/app"

if [[ ! -x $nodedir/bin/node ]]; then
  echo "== node $major: node-linux-$arch@$major from the npm registry"
  mkdir -p "$cache/runtime"
  npm install --prefix "$cache/runtime" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@$major" >&2
fi
export PATH="$nodedir/bin:$PATH"
export npm_config_nodedir="$nodedir"
version="$(node --version)"
[[ $version == "v$major."* ]] || { echo ".ci/node.sh: expected Node $major, PATH gives $version" >&2; exit 1; }

# A fresh copy of the sources; node_modules stays while the lock file and Node are the same.
mkdir -p "$app"
find "$app" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name .deps-stamp -exec rm -rf {} +
tar -C "$repo" --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./.ci-cache \
  --exclude=./data --exclude=./test-artifacts --exclude=./release -cf - . | tar -C "$app" -xf -
stamp="$version $(sha256sum "$app/package-lock.json" | cut -d' ' -f1)"
cd "$app"
if [[ ! -d node_modules || "$(cat .deps-stamp 2>/dev/null)" != "$stamp" ]]; then
  echo "== node $version: npm ci (better-sqlite3 compiled against this Node's headers)"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$stamp" >.deps-stamp
else
  echo "== node $version: node_modules up to date; npm run build"
  npm run build --silent
fi
echo "== node $version: $*"
exec "$@"
