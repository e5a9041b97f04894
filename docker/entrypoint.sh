#!/bin/sh
set -eu
case "${1:-api}" in
  api) exec node /app/dist/apps/api/apps/api/src/main.js ;;
  worker) exec node /app/dist/apps/worker/apps/worker/src/main.js ;;
  *) exec "$@" ;;
esac
