#!/usr/bin/env bash
# fetch-pinned.sh SPEC INTEGRITY: fetches the npm package SPEC with `npm pack` (once, into a cache
# folder), refuses it unless its tarball's integrity is INTEGRITY, and prints the folder it is
# unpacked in (the tarball's `package/`).
set -euo pipefail
spec=$1 integrity=$2
cache=${PINNED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uws-socketio-cluster}
dir="$cache/$(printf '%s' "$spec" | tr '/@' '__')"
if [ ! -f "$dir/.integrity" ] || [ "$(cat "$dir/.integrity")" != "$integrity" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --json "$spec" >pack.json)
  got=$(node -p 'require(process.argv[1])[0].integrity' "$tmp/pack.json")
  if [ "$got" != "$integrity" ]; then
    echo "fetch-pinned: $spec has integrity $got, expected $integrity: refused" >&2
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  tar xzf "$tmp"/*.tgz -C "$dir" --strip-components=1 --no-same-owner
  printf '%s' "$integrity" >"$dir/.integrity"
fi
printf '%s\n' "$dir"
