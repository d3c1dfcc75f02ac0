#!/usr/bin/env bash
# `pnpm fuzz`: the human-in-the-loop model test (packages/core/test/hitl-model.test.ts)
# with more sequences than CI runs, on a random seed unless FUZZ_SEED is given.
# Every FUZZ_* variable the test reads passes through (FUZZ_OPS, FUZZ_SKIP,
# FUZZ_GRAPHS, FUZZ_MAX_OPS, FUZZ_SQLITE, FUZZ_KILL_RUNS, FUZZ_PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export FUZZ_RUNS="${FUZZ_RUNS:-20000}"
export FUZZ_SEED="${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
export FUZZ_KILL_RUNS="${FUZZ_KILL_RUNS:-30}"
echo "fuzz: FUZZ_SEED=$FUZZ_SEED FUZZ_RUNS=$FUZZ_RUNS FUZZ_KILL_RUNS=$FUZZ_KILL_RUNS (rerun with the same FUZZ_SEED to reproduce)"
exec pnpm vitest run --project unit packages/core/test/hitl-model.test.ts "$@"
