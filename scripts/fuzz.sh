#!/usr/bin/env bash
# `pnpm fuzz`: the long fuzz runs, on a random seed unless FUZZ_SEED is given.
# - the human-in-the-loop model test (packages/core/test/hitl-model.test.ts);
# - the public API's arguments on memory and SQLite (apps/chaos/test/options-fuzz.test.ts),
#   then on PostgreSQL and Redis (options-fuzz.int.test.ts, on servers the int setup starts);
# - the entrypoint crash test with FUZZ_KILL_RUNS kills at random moments
#   (packages/core/test/functional-crash.int.test.ts).
# Every FUZZ_* variable the tests read passes through (FUZZ_RUNS, FUZZ_NETWORK_RUNS, FUZZ_OPS,
# FUZZ_SKIP, FUZZ_GRAPHS, FUZZ_MAX_OPS, FUZZ_SQLITE, FUZZ_KILL_RUNS, FUZZ_PATH). Extra
# arguments go to both vitest runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export FUZZ_RUNS="${FUZZ_RUNS:-20000}"
export FUZZ_NETWORK_RUNS="${FUZZ_NETWORK_RUNS:-5000}"
export FUZZ_SEED="${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
export FUZZ_KILL_RUNS="${FUZZ_KILL_RUNS:-30}"
echo "fuzz: FUZZ_SEED=$FUZZ_SEED FUZZ_RUNS=$FUZZ_RUNS FUZZ_NETWORK_RUNS=$FUZZ_NETWORK_RUNS FUZZ_KILL_RUNS=$FUZZ_KILL_RUNS (rerun with the same FUZZ_SEED to reproduce)"
pnpm vitest run --project unit packages/core/test/hitl-model.test.ts apps/chaos/test/options-fuzz.test.ts "$@"
exec pnpm vitest run --project int apps/chaos/test/options-fuzz.int.test.ts \
  packages/core/test/functional-crash.int.test.ts "$@"
