#!/usr/bin/env bash
# Vendor KaTeX into the web app's static folder so that pages render LaTeX without a CDN.
#
# Fetches the package tarball from the npm registry (`npm pack`), keeps only what the
# pages load (katex.min.css, katex.min.js, contrib/auto-render.min.js) and the woff2
# fonts (every browser we support reads woff2; the woff/ttf copies would triple the size).
#
# Usage: scripts/vendor-katex.sh [VERSION]      (default 0.16, i.e. the newest 0.16.x)
set -euo pipefail

VERSION="${1:-0.16}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$REPO/src/paperscope/web/static/vendor/katex"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
TARBALL="$(npm pack --silent "katex@$VERSION")"
tar -xzf "$TARBALL"
DIST="$WORK/package/dist"
EXACT="$(node -p "require('$WORK/package/package.json').version")"

rm -rf "$DEST"
mkdir -p "$DEST/contrib" "$DEST/fonts"
cp "$DIST/katex.min.css" "$DIST/katex.min.js" "$DEST/"
cp "$DIST/contrib/auto-render.min.js" "$DEST/contrib/"
cp "$DIST"/fonts/*.woff2 "$DEST/fonts/"
cp "$WORK/package/LICENSE" "$DEST/LICENSE"

# The stylesheet lists woff2, woff and ttf sources for each face; keep only the woff2 one so a
# browser never asks for a file we did not ship.
python3 - "$DEST/katex.min.css" <<'PY'
import re
import sys

path = sys.argv[1]
css = open(path, encoding="utf-8").read()
css, count = re.subn(r',url\(fonts/[^)]+\.woff\) format\("woff"\)|,url\(fonts/[^)]+\.ttf\) format\("truetype"\)', "", css)
if "format(\"woff\")" in css or "format(\"truetype\")" in css:
    sys.exit(f"{path}: could not strip the woff/ttf font sources; the KaTeX stylesheet changed shape")
open(path, "w", encoding="utf-8").write(css)
PY

echo "$EXACT" > "$DEST/VERSION"
echo "vendored KaTeX $EXACT into $DEST ($(du -sh "$DEST" | cut -f1))"
