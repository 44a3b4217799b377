#!/bin/sh
# Install the Debian packages listed in .ci/apt-packages.txt that are missing.
# Needs root (CI and this machine run as root); elsewhere it says what to install.
set -e
cd "$(dirname "$0")/.."
missing=""
for p in $(grep -v '^#' .ci/apt-packages.txt); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing Debian packages:$missing (run as root: apt-get install$missing)" >&2
    exit 0
fi
echo "system-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends $missing >/dev/null
