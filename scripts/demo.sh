#!/usr/bin/env bash
# The main job. Until the GAN example lands, it builds Stepwise and shows what is
# registered.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product stepwise
.build/release/stepwise plugins
.build/release/stepwise list
