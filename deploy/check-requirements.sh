#!/usr/bin/env bash
# Checks the system requirements that pip cannot install: Python 3.11 and Java 17+.
set -u
status=0
if ! command -v python3.11 >/dev/null 2>&1; then
  echo "error: python3.11 not found. Install Python 3.11 (Debian/Ubuntu: apt-get install -y python3.11 python3.11-venv; or pyenv install 3.11)." >&2
  status=1
fi
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "error: Java not found; Spark 4 needs Java 17. Install it (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless; macOS: brew install openjdk@17) and put java on PATH or set JAVA_HOME." >&2
  status=1
else
  major=$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -n1)
  set -- $major
  v=${1:-0}; [ "$v" = "1" ] && v=${2:-0}
  if [ "$v" -lt 17 ]; then
    echo "error: Java $v found at $(command -v "$java_bin"); Spark 4 needs Java 17 or newer. Install openjdk-17-jre-headless and set JAVA_HOME to it." >&2
    status=1
  fi
fi
exit $status
