#!/usr/bin/env bash
# npm_ci.sh: installs the pinned grammar test tools (editors/vscode's
# package.json and package-lock.json: vscode-tmgrammar-test and, through it,
# vscode-textmate and vscode-oniguruma) into a directory of the build tree,
# from the npm registry, exactly as locked. Skips the work when the lock is
# unchanged since the last install.
# usage: npm_ci.sh SOURCE_DIR/editors/vscode BUILD_DIR/npm
set -euo pipefail
src=$1
dst=$2
mkdir -p "$dst"
if [ -d "$dst/node_modules/vscode-tmgrammar-test" ] && cmp -s "$src/package-lock.json" "$dst/package-lock.json"; then
  echo "npm_ci: $dst is up to date"
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dst/"
cd "$dst"
npm ci --no-audit --no-fund --ignore-scripts
