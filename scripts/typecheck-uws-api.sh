#!/usr/bin/env bash
# npm run typecheck:uws-api: type-checks src/, test/ and bench/ against upstream's current uWS API
# (the typings of the pinned Node 24 build, scripts/pins.sh) as `npm run typecheck` does against the
# default build's: the code compiles with both.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pins.sh
dir=$(scripts/fetch-pinned.sh "$UWS_NODE24_SPEC" "$UWS_NODE24_INTEGRITY")
ln -sfn "$dir" node_modules/.uws-api
echo "type-checking against $UWS_NODE24_SPEC's typings"
npx tsc -p test/tsconfig.uws-api.json
