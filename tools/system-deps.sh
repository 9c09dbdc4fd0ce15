#!/bin/sh
# Installs the Debian packages `make serve` needs (npm among them: it installs the map's browser library) and,
# with --browser, the chromium the browser tests drive; only those missing.
# Without root or sudo it prints the command to run instead.
set -eu
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$missing postgresql-postgis"
command -v java >/dev/null 2>&1 || missing="$missing default-jre-headless"
test -f /usr/share/fonts/truetype/tlwg/Laksaman.ttf || missing="$missing fonts-tlwg-laksaman-ttf"
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$missing python3-venv"
if [ "${1:-}" = "--browser" ]; then
  test -x /usr/lib/chromium/chromium || missing="$missing chromium"
fi
[ -z "$missing" ] && exit 0
echo "installing system packages:$missing"
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
else echo "Please run: sudo apt-get update && sudo apt-get install -y$missing"; exit 1; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
