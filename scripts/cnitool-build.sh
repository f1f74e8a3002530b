#!/bin/bash
# Build cnitool, the CNI project's reference client, offline from Debian's
# source package golang-github-appc-cni with Debian's Go toolchain.
#   scripts/cnitool-build.sh OUTDIR   -> OUTDIR/cnitool (skipped if present)
set -euo pipefail
OUT=$(realpath -m "${1:?usage: $0 OUTDIR}")
[ -x "$OUT/cnitool" ] && { echo "$OUT/cnitool"; exit 0; }
W=$(mktemp -d /tmp/kuryr-cnitool.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT"
# The machine's own Debian sources, switched to deb-src, in a private apt
# state so the system's lists are not touched.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$W/src.sources"
else
	sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$W/src.list"
fi
O=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$W" -o Dir::State::Lists="$W/lists"
	-o Dir::Cache="$W/cache" -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root)
mkdir -p "$W/lists/partial" "$W/cache/archives/partial"
apt-get "${O[@]}" update -q >/dev/null
(cd "$W" && apt-get "${O[@]}" source -q golang-github-appc-cni >/dev/null 2>&1)
mkdir -p "$W/gp/src/cnitool"
cp "$W"/golang-github-appc-cni-*/cnitool/cnitool.go "$W/gp/src/cnitool/"
(cd "$W/gp/src/cnitool" &&
	GO111MODULE=off GOPATH="$W/gp:/usr/share/gocode" GOCACHE="$W/gocache" \
		go build -o "$OUT/cnitool" .)
echo "$OUT/cnitool"
