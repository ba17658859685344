#!/usr/bin/env bash
# CLI cold start (issue 9 §Build 5, DESIGN §11): hyperfine over cold `memvault` processes on 1,000 memories.
#
#   bench/cli-startup.sh [BASELINE_CHECKOUT]
#
# Builds (once) a data dir in $TMPDIR/memvault-cli-bench: a person with a password and the first 1,000 LoCoMo
# turns of ../shared/eval/locomo-dev imported with `memvault import`, and the same turns for a second person
# without a password (the operator serves them at level 2). Then times `node -e 0`, `--version`,
# `list --limit 20`, `search` without and with the password, `search` of the person without a password, for
# this checkout and, when given, a baseline
# checkout (built, with its own dist/) in the same hyperfine run, so both see the same machine load. Prints wall
# AND user+sys CPU and the load average: on a shared machine compare CPU, and compare against `node -e 0`.
# Needs hyperfine. Writes nothing into the repository.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${1:-}"
WORK="${TMPDIR:-/tmp}/memvault-cli-bench"
DATA="$WORK/data"
USER_ID=+14155550134
OPEN_USER_ID=+14155550135
PASSWORD='correct horse battery staple 42'
RUNS="${RUNS:-8}"
EVAL="$HERE/../shared/eval/locomo-dev"
command -v hyperfine >/dev/null || { echo "cli-startup: hyperfine is not installed" >&2; exit 2; }
mkdir -p "$WORK"
printf '%s\n' "$PASSWORD" > "$WORK/password"
if [ ! -d "$DATA/users/$USER_ID" ]; then
  [ -d "$EVAL" ] || { echo "cli-startup: $EVAL is absent (LoCoMo development half); nothing to import" >&2; exit 2; }
  awk 'NR <= 1000' "$EVAL"/conv-*.messages.jsonl > "$WORK/turns.jsonl"
  MEMVAULT_DATA_DIR="$DATA" node "$HERE/bin/memvault.js" user create --phone "$USER_ID" --name Bench \
    --password-stdin < "$WORK/password" > /dev/null
  MEMVAULT_DATA_DIR="$DATA" node "$HERE/bin/memvault.js" import --user "$USER_ID" --password-stdin \
    "$WORK/turns.jsonl" < "$WORK/password"
  # The first search writes the persisted level-1 index; every timed run below opens it.
  MEMVAULT_DATA_DIR="$DATA" node "$HERE/bin/memvault.js" search --user "$USER_ID" warm up > /dev/null
fi
if [ ! -d "$DATA/users/$OPEN_USER_ID" ]; then
  MEMVAULT_DATA_DIR="$DATA" node "$HERE/bin/memvault.js" user create --phone "$OPEN_USER_ID" --name Open < /dev/null \
    > /dev/null
  MEMVAULT_DATA_DIR="$DATA" node "$HERE/bin/memvault.js" import --user "$OPEN_USER_ID" "$WORK/turns.jsonl" < /dev/null
  MEMVAULT_DATA_DIR="$DATA" node "$HERE/bin/memvault.js" search --user "$OPEN_USER_ID" warm up > /dev/null
fi
export MEMVAULT_DATA_DIR="$DATA" MEMVAULT_LOG_LEVEL=warn

bins=("$HERE/bin/memvault.js")
labels=("this checkout")
if [ -n "$BASE" ]; then
  bins=("$BASE/bin/memvault.js" "${bins[@]}")
  labels=("baseline" "${labels[@]}")
fi

run() { # name, shell?(0/1), args...
  local name="$1" shell="$2"
  shift 2
  local cmds=('node -e 0')
  for b in "${bins[@]}"; do cmds+=("node $b $*"); done
  if [ "$shell" = 1 ]; then
    hyperfine -w 2 -r "$RUNS" --export-json "$WORK/$name.json" "${cmds[@]}" > /dev/null 2>&1
  else
    hyperfine -N -w 2 -r "$RUNS" --export-json "$WORK/$name.json" "${cmds[@]}" > /dev/null 2>&1
  fi
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run version 0 --version
run list 0 list --user "$USER_ID" --limit 20
run search 0 search --user "$USER_ID" support group
run search-password 1 search --user "$USER_ID" --password-stdin support group "< $WORK/password"
run search-open 0 search --user "$OPEN_USER_ID" support group
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| command | run | wall mean | wall median | user+sys CPU |\n|---|---|---:|---:|---:|\n'
for name in version list search search-password search-open; do
  node -e '
    const [file, name, ...labels] = process.argv.slice(1);
    const rows = require(file).results;
    rows.forEach((r, i) => {
      const label = i === 0 ? "node -e 0" : labels[i - 1];
      const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
      console.log(`| ${name} | ${label} | ${ms(r.mean)} | ${ms(r.median)} | ${ms(r.user + r.system)} |`);
    });' "$WORK/$name.json" "$name" "${labels[@]}"
done
