#!/usr/bin/env bash
# Issue 31's whole benchmark, one job after another, one thread, cached (a rerun
# skips what benchmarks/results/*.jsonl already hold). Run from the repository
# root in the background, e.g.:
#   PY=/path/to/venv/bin/python nohup nice -n 10 bash benchmarks/run_issue31.sh > issue31.log 2>&1 &
# Order: the data sets under 10,000 training rows (gradient boosting references
# and the estimator's defaults, shared and per task), RealMLP on them, then the
# larger data sets (RealMLP skipped there: see references.REALMLP_MAX_ROWS).
set -euo pipefail
PY=${PY:-python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
SMALL="penguins auto college oj creditcard medpar wage nmes1988 bikeshare"
LARGE="rwm5yr diamonds mplsstops movies flights60k fertility"
for d in $SMALL; do
  $PY benchmarks/references.py --datasets "$d" --libraries hgb lightgbm catboost
  $PY benchmarks/per_task_quality.py --datasets "$d"
done
for d in $SMALL; do
  $PY benchmarks/references.py --datasets "$d" --libraries realmlp
done
for d in $LARGE; do
  $PY benchmarks/references.py --datasets "$d" --libraries hgb lightgbm catboost
  $PY benchmarks/per_task_quality.py --datasets "$d"
done
echo "issue 31 benchmark: done"
