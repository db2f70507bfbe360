#!/usr/bin/env bash
# Runs every benchmark at full size, one after another (they share the machine, so never in parallel).
# Each writes its figures to stdout; logs land in var/bench/. Copy the figures into bench/RESULTS.md.
# Run one alone with:  .venv/bin/python bench/<name>.py --help
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOGS=var/bench
mkdir -p "$LOGS"

BENCHES=(
  "annotation_api.py --both --json var/bench/annotation_api.json"  # bench/results/ holds the curated figures
  "annotation_api.py --scaling"
  "snapshot_bench.py"
  "hra_import_bench.py"
  "prompt_combine_bench.py"
  "frontend_bench.py"
  "generation_bench.py"
  "critic_bench.py"
  "score_job_bench.py"
  "align_bench.py"
  "gpu_bench.py --skip-without-cuda"
  "efficacy_bench.py"
  "efficacy_bench.py --parts pairwise"
  "loop_bench.py"
  "load_faults.py"
)

failed=()
for entry in "${BENCHES[@]}"; do
  script=${entry%% *}
  [[ -f bench/$script ]] || { echo "-- skip $entry (not present)"; continue; }
  log="$LOGS/$(echo "$entry" | tr ' /' '__' | tr -d '-').log"
  echo "== $entry  (log: $log)"
  start=$(date +%s)
  # shellcheck disable=SC2086  # the entry's words are its arguments
  if $PY bench/$entry >"$log" 2>&1; then
    echo "   ok in $(( $(date +%s) - start )) s"; tail -n 15 "$log" | sed 's/^/   /'
  else
    echo "   FAILED after $(( $(date +%s) - start )) s — see $log"; failed+=("$entry")
  fi
done

if ((${#failed[@]})); then
  echo "Failed benches: ${failed[*]}"; exit 1
fi
echo "All benches ran; figures above and in $LOGS/."
