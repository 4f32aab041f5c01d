#!/bin/sh
# The browser the console's tests drive: Debian's Chromium and its matching
# chromedriver, installed from the distribution when missing (never a browser
# download of a test tool's own). Idempotent: a machine that has both is left alone.
set -eu
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "tools/browser.sh: install chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)" >&2
	exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
