#!/usr/bin/env bash
# Installs the Debian packages of system-packages.txt that belong to any of the named sets
# (runtime, test, image) and are not installed yet. `--list SET...` prints them instead.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
list="$here/system-packages.txt"
print_only=false
if [ "${1:-}" = "--list" ]; then print_only=true; shift; fi
[ "$#" -gt 0 ] || { echo "usage: $0 [--list] SET..." >&2; exit 2; }
wanted=$(awk -v sets="$*" '
  BEGIN { n = split(sets, s, " "); for (i = 1; i <= n; i++) want[s[i]] = 1 }
  /^[[:space:]]*(#|$)/ { next }
  { for (i = 2; i <= NF; i++) { if ($i in want) { print $1; next } } }
' "$list")
if $print_only; then echo "$wanted"; exit 0; fi
missing=""
for pkg in $wanted; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing="$missing $pkg"
done
[ -n "$missing" ] || exit 0
echo "installing system packages:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
