#!/usr/bin/env bash
# Online backup of Synth Mind's database (docs/deployment.md, "Backups").
#
#   scripts/backup.sh [--out DIR] [--keep 7] [--include-secrets]
#
# Runs the compiled binary when SYNTH_BIN names it (e.g. /app/synth-mind),
# else `deno task backup` from the repository. The server may be running:
# the copy is consistent, checked (integrity_check) and hashed. The data
# directory comes from the configuration (SYNTH_DATA_DIR, default ./data).
# In a container: docker compose exec synth /app/synth-mind backup
set -euo pipefail
# --out is relative to where the script is called from, not to the repository.
absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --out)
      if [ "$#" -ge 2 ]; then args+=("--out" "$(absolute "$2")"); shift 2; else args+=("$1"); shift; fi
      ;;
    --out=*) args+=("--out=$(absolute "${1#--out=}")"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
cd "$(dirname "$0")/.."
if [ -n "${SYNTH_BIN:-}" ]; then
  exec "$SYNTH_BIN" backup "$@"
fi
exec "${DENO:-deno}" task backup "$@"
