#!/bin/sh
# The container's entrypoint: migrate, then become the server.
#
# `serve` migrates too (idempotently, under an advisory lock); migrating here first means a failed migration stops
# the container before it listens, so an orchestrator never routes traffic to a half-upgraded service. Under Helm a
# pre-install/pre-upgrade Job migrates instead and the pods set ALWAYS_HOPE_SKIP_MIGRATE=1.
#
# With arguments, run them instead (`docker compose run always-hope always-hope tenants list`).
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

if [ "${ALWAYS_HOPE_SKIP_MIGRATE:-0}" != "1" ]; then
    always-hope migrate --wait  # replicas starting together queue on the run lock instead of failing
fi

exec always-hope serve --host 0.0.0.0 --port "${PORT:-8000}" --no-demo
