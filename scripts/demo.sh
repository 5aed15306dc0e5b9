#!/usr/bin/env bash
# The main job: builds Stepwise (release) and trains the GAN example. Outputs land in
# out/gan: samples.svg, losses.svg, lr.svg, a checkpoint and summary.json.
# Extra arguments go to `stepwise gan` (e.g. --steps 5000 --seed 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
.build/release/stepwise gan --out out/gan "$@"
