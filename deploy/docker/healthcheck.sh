#!/usr/bin/env bash
# Container health probe for BitNet.Server: healthy when GET /health answers 200 (model loaded and serving);
# 503 (loading, failed load, shutting down), a refused connection or silence for 5 s are unhealthy.
#
# Why bash's /dev/tcp and not curl/wget: the aspnet runtime image ships neither, and installing one just for the
# probe would add a package (and its CVEs) to every image. bash, `read` and `printf` are already there.
# The server process itself cannot be the probe: it is a server, not an HTTP client.
#
# BITNET_HEALTH_PORT overrides the port when URLS moves the server off 8080.
set -euo pipefail
port="${BITNET_HEALTH_PORT:-8080}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
[[ "$status" == "HTTP/1."[01]" 200 "* ]]
