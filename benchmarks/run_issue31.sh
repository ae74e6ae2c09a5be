#!/usr/bin/env bash
# Issue 31's whole benchmark, one job after another, one thread, cached (a rerun
# skips what benchmarks/results/*.jsonl already hold). Run from the repository
# root in the background, e.g.:
#   PY=/path/to/venv/bin/python nohup nice -n 10 bash benchmarks/run_issue31.sh > issue31.log 2>&1 &
# Order, cheapest first so that an interrupted run leaves whole tables: the
# data sets under 10,000 training rows (gradient boosting references, the
# estimator's defaults shared and per task), RealMLP on those under 2,000
# rows, the gradient boosting references on the larger data sets, the defaults
# there, then RealMLP on the remaining data sets under 10,000 rows (RealMLP is
# skipped from 10,000 rows: see references.REALMLP_MAX_ROWS).
set -euo pipefail
PY=${PY:-python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
TINY="penguins auto college oj creditcard medpar"
MEDIUM="wage nmes1988 bikeshare"
LARGE="rwm5yr diamonds mplsstops movies flights60k fertility"
for d in $TINY $MEDIUM; do
  $PY benchmarks/references.py --datasets "$d" --libraries hgb lightgbm catboost
  $PY benchmarks/per_task_quality.py --datasets "$d"
done
$PY benchmarks/references.py --datasets $TINY --libraries realmlp
$PY benchmarks/references.py --datasets $LARGE --libraries hgb lightgbm catboost
$PY benchmarks/per_task_quality.py --datasets $LARGE
$PY benchmarks/references.py --datasets $MEDIUM --libraries realmlp
echo "issue 31 benchmark: done"
