#!/bin/sh
# Build the N-API addon with the system C compiler against the headers of the
# installed Node.js (one C file: no node-gyp, no Python needed), into the
# package's own build/Release directory.
cd "$(dirname "$0")/.." || exit 1
inc=''
for d in /usr/local/include/node /usr/include/node "$HOME"/.cache/node-gyp/*/include/node; do
  if [ -f "$d/node_api.h" ]; then
    inc=$d
    break
  fi
done
if [ -z "$inc" ]; then
  echo "hrclock-native: Node.js headers not found; the addon was not built" >&2
  exit 1
fi
mkdir -p build/Release
exec cc -O2 -std=gnu99 -fPIC -shared -I"$inc" -DNODE_GYP_MODULE_NAME=hrclock \
  -o build/Release/hrclock.node src/hrclock.c
