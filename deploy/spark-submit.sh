#!/usr/bin/env bash
# Run one pipeline step through spark-submit against any master.
#
#   deploy/spark-submit.sh STEP [ARGS...]
#
# Builds the package wheel, passes it with --py-files, resolves the JVM packages
# the config lists (optional ones only where the repository serves them) with
# --packages, and runs jobs/STEP.py. Environment:
#   SPARK_MASTER  master URL (default local[2])
#   CONF          config file (default conf/local.yaml); passed to the step
#   PYTHON        interpreter with the package's dependencies (default .venv)
#   SPARK_SUBMIT  spark-submit to use (default: the one shipped with pyspark)
# On a cluster the executors need the package's dependencies too: install the
# wheel's requirements in the cluster's Python environment (or a conda pack).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 STEP [ARGS...]" >&2
  exit 2
fi
step=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
conf=${CONF:-$root/conf/local.yaml}
master=${SPARK_MASTER:-local[2]}
job="$root/jobs/$step.py"
if [ ! -f "$job" ]; then
  echo "error: no entry point $job; steps: $(cd "$root/jobs" && ls *.py | sed 's/\.py$//' | tr '\n' ' ')" >&2
  exit 2
fi
submit=${SPARK_SUBMIT:-$("$python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "bin", "spark-submit"))')}

dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
"$python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$dist" "$root" >/dev/null
wheel=$(ls "$dist"/*.whl)
read -r packages ivy driver_memory < <("$python" - "$conf" <<'PY'
import sys
from pathlib import Path
from campaign_revenue.config import load_config
from campaign_revenue.spark import resolvable_packages
cfg = load_config(sys.argv[1]).spark
print(
    ",".join(resolvable_packages(cfg)) or "-",
    Path(cfg.ivy_dir).expanduser(),
    cfg.conf.get("spark.driver.memory", "-"),
)
PY
)
args=(--master "$master" --py-files "$wheel"
      --conf "spark.pyspark.python=$python" --conf "spark.pyspark.driver.python=$python"
      --conf spark.sql.session.timeZone=UTC)
# The driver JVM is up before the session helper runs: a spark.driver.memory
# set there is ignored (the driver keeps 1g), so it is passed here.
if [ "$driver_memory" != "-" ]; then
  args+=(--driver-memory "$driver_memory")
fi
if [ "$packages" != "-" ]; then
  args+=(--packages "$packages" --conf "spark.jars.ivy=$ivy")
fi
# spark-submit owns the master and the jars: the session helper must not set them.
exec "$submit" "${args[@]}" "$job" --conf "$conf" \
  --set spark.master=null --set spark.resolve_packages=false "$@"
