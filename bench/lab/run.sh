#!/usr/bin/env bash
# The measurements of docs/lab.md: `nabla lab all` at its default scale on the full Fashion-MNIST
# (apt-get install dataset-fashion-mnist), then docs/lab.md and its figures regenerated from the
# experiments' result.json, report.md and PNGs. Usage: bench/lab/run.sh [OUT] (default
# bench/results/<date>-lab); about 40 minutes on two cores. EXTRA="--seed 1" passes options on.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-bench/results/$(date -u +%F)-lab}
dotnet build src/Nabla.Cli -c Release -v q -nologo >/dev/null
echo "== $(date -u +%FT%TZ) $(git rev-parse --short HEAD) loadavg $(cut -d' ' -f1-3 /proc/loadavg) $(nproc) cores" | tee "$out.log"
# shellcheck disable=SC2086
dotnet src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll lab all --out "$out" ${EXTRA:-} 2>&1 | tee -a "$out.log"
python3 bench/lab/make_docs.py "$out" docs
