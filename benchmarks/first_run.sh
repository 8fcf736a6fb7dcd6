#!/usr/bin/env bash
# What a new user waits for: a fresh clone's `make run`, from the command to the first 200 of
# /healthz, and the size of the .venv it built. Prints the figures docs/first-run.md records.
#
#   benchmarks/first_run.sh [REF] [PORT]     # REF: a commit of this repository (default HEAD)
#
# The clone goes to a temporary folder (KEEP=1 keeps it); the server is stopped at the end.
# Commits whose Makefile has no PORT get their hard-coded 8080 replaced, so old and new can be
# measured side by side on a machine where 8080 is taken.
set -euo pipefail

ref=${1:-HEAD}
port=${2:-18080}
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d /tmp/mlc-first-run-XXXX)
log=$work/make.log

cleanup() {
  if [[ -f $work/pid ]]; then kill -- "-$(cat "$work/pid")" 2>/dev/null || true; fi
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/repo"
git -C "$work/repo" checkout --quiet "$ref"
cd "$work/repo"
grep -q 'PORT' Makefile || sed -i "s/--port 8080/--port $port/" Makefile

echo "commit $(git rev-parse --short HEAD), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
# every line of make's output with the second it appeared, for the breakdown below
setsid bash -c "make run PORT=$port 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' \"\$(date +%s.%N)\" \"\$line\"; done" > "$log" &
echo $! > "$work/pid"
until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; do
  if ! kill -0 "$(cat "$work/pid")" 2>/dev/null; then
    echo "make run stopped before serving:"; tail -20 "$log"; exit 1
  fi
  sleep 0.5
done
end=$(date +%s.%N)

at() {  # seconds from the start to the first line matching $1
  awk -v s="$start" -v pat="$1" '$0 ~ pat { printf "%.0f", $1 - s; exit }' "$log"
}
printf 'make run until /healthz answers: %.0f s\n' "$(echo "$end - $start" | bc)"
echo "  dependencies installed after:   $(at 'Successfully installed') s"
echo "  setup done (banner) after:      $(at 'MLC Engine is set up') s"
echo ".venv: $(du -sm .venv | cut -f1) MB, $(.venv/bin/python -m pip list 2>/dev/null | tail -n +3 | wc -l) packages"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
