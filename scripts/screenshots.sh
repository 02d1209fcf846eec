#!/usr/bin/env bash
# Renders the README's pictures from a fresh demo run with headless Chromium (Debian's
# chromium and fonts-noto-cjk: apt-get install chromium fonts-noto-cjk).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
.venv/bin/mailflow demo --out "$out/demo" >/dev/null
shot() {  # shot HTML PNG
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$out/profile" --hide-scrollbars --window-size=420,900 \
        --screenshot="$2" "file://$1" 2>/dev/null
    echo "wrote $2"
}
mkdir -p docs
shot "$(ls "$out"/demo/qian.zg@example.com/*日清_华东_2026-11-17*.html | head -1)" docs/digest.png
shot "$(ls "$out"/demo/zhao.lei@example.com/*需要更正*.html | head -1)" docs/notice.png
shot "$(ls "$out"/demo/qian.zg@example.com/*周报草稿*W48*.html | head -1)" docs/weekly-draft.png
rm -rf "$out"
