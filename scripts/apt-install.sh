#!/usr/bin/env bash
# Installs the named Debian packages that are not installed yet (apt-get update first).
# Used by `make run` and `make test` so that a fresh Debian 12 machine needs nothing else.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -q
# tshark asks whether non-root users may capture; the default (no) is right for us.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
