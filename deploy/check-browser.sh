#!/usr/bin/env bash
# The report test opens the HTML page in a real headless Chromium. Debian's
# package is used (playwright drives it; no browser download from the
# internet). Installs it where apt-get can run as root, else says how.
set -u
browser=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$browser" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found at $browser: installing Debian's chromium for the report test" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -q chromium >/dev/null 2>&1 \
     || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null; }; then
    [ -x "$browser" ] && exit 0
  fi
fi
echo "error: Chromium not found at $browser; the report test needs it. Install it (Debian/Ubuntu: sudo apt-get install -y chromium; elsewhere set CHROMIUM=/path/to/chrome)." >&2
exit 1
