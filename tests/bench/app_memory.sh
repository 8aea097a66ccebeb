#!/usr/bin/env bash
# Idle memory of the desktop app: starts the built app under Xvfb, lets it settle on the
# pre-join screen, then sums RSS and PSS over the app process and every process it started
# (WebKitWebProcess, WebKitNetworkProcess...). PSS shares each shared page out among its users,
# so the PSS total does not double-count the libraries the processes have in common.
#
# Usage: tests/bench/app_memory.sh [path-to-huddle-binary] [settle-seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
app=${1:-target/debug/huddle}
settle=${2:-15}
[ -x "$app" ] || { echo "no app binary at $app (build it with 'npx tauri build')" >&2; exit 1; }

home=$(mktemp -d)
# Its own process group, so that the app, its WebKit processes and Xvfb all end together.
trap 'kill -- -"$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$home"' EXIT
HOME=$home XDG_CONFIG_HOME=$home/config XDG_STATE_HOME=$home/state \
  setsid xvfb-run -a -s "-screen 0 1280x800x24" "$app" >/dev/null 2>&1 &
pid=$!
sleep "$settle"

descendants() {
  local p=$1
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do descendants "$c"; done
}
rss=0; pss=0
printf '%-28s %10s %10s\n' process "RSS (MB)" "PSS (MB)"
for p in $(descendants "$pid"); do
  [ -r /proc/"$p"/smaps_rollup ] || continue
  name=$(tr -d '\0' < /proc/"$p"/comm)
  r=$(awk '/^Rss:/{print $2}' /proc/"$p"/smaps_rollup)
  s=$(awk '/^Pss:/{print $2}' /proc/"$p"/smaps_rollup)
  case "$name" in xvfb-run|Xvfb|sh|bash) continue ;; esac
  awk -v n="$name" -v r="$r" -v s="$s" 'BEGIN{printf "%-28s %10.1f %10.1f\n", n, r/1024, s/1024}'
  rss=$((rss + r)); pss=$((pss + s))
done
awk -v r="$rss" -v s="$pss" 'BEGIN{printf "%-28s %10.1f %10.1f\n", "TOTAL", r/1024, s/1024}'
