#!/usr/bin/env bash
# Takes docs/console-overview.png and docs/console-timeline.png from the real console:
# `demo --keep-running` serves it, headless Chromium signs in and shoots (see
# examples/console_screenshots.rs). Needs Debian's chromium and chromium-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || { echo "$tool is missing: apt-get install --no-install-recommends chromium chromium-driver" >&2; exit 1; }
done
cargo build --quiet --bin ashby-partner --example console_screenshots
target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
"$target/debug/examples/console_screenshots" "$target/debug/ashby-partner" docs
