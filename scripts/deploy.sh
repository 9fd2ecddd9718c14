#!/usr/bin/env bash
# npm run deploy -- <stack> [extra pulumi up args]
#
# Deploys a stack from a workstation. Needs the Pulumi CLI and, for dev, a local Docker engine.
# State goes to a local file backend (~/.pulumi-jarvis) unless PULUMI_BACKEND_URL says otherwise
# (e.g. s3://my-team-state for a team), so no Pulumi Cloud account is needed.
set -euo pipefail
stack="${1:-}"
if [ -z "$stack" ]; then echo "usage: npm run deploy -- <dev|prod> [pulumi up args]" >&2; exit 2; fi
shift
cd "$(dirname "$0")/.."
if ! command -v pulumi >/dev/null 2>&1; then
  echo "deploy: the Pulumi CLI is not installed; install it (see README, Prerequisites), then re-run" >&2; exit 3
fi
if [ "$stack" = "dev" ] && ! docker info >/dev/null 2>&1; then
  echo "deploy: no Docker engine answers on this machine; start Docker (the dev stack runs on it), then re-run" >&2; exit 3
fi
# Validate the config offline first: every problem, named, before anything is touched.
npx tsx cli/main.ts config check "$stack"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$HOME/.pulumi-jarvis}"
mkdir -p "$HOME/.pulumi-jarvis"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "deploy: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets; keep it in your password manager" >&2; exit 2
fi
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
