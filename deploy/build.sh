#!/bin/sh
# Builds ferry as one static binary (no cgo, no libc): what the Dockerfile
# runs, and what a release runs. deploy_test.go runs it too, so the image's
# build step is checked where docker is not available.
#
#   deploy/build.sh OUTPUT [VERSION] [REVISION]
#
# VERSION and REVISION default to the environment variables of those names,
# then to "dev" and the git commit (when there is one).
set -eu
out=${1:?usage: deploy/build.sh OUTPUT [VERSION] [REVISION]}
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac
cd "$(dirname "$0")/.."
version=${2:-${VERSION:-dev}}
revision=${3:-${REVISION:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}}
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/ferrymetrics/ferry/version
CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X $pkg.Version=$version -X $pkg.Revision=$revision -X $pkg.BuildDate=$date" \
	-o "$out" ./cmd/ferry
