#!/usr/bin/env bash
# CI only: installs the deploy key and the pinned host key of the prod Docker host, so the docker
# provider's ssh:// connection works without prompting. Both come from the CI's secret store.
set -euo pipefail
: "${DOCKER_HOST_SSH_KEY:?set the DOCKER_HOST_SSH_KEY secret (private key of the deploy user)}"
: "${DOCKER_HOST_KNOWN_HOSTS:?set the DOCKER_HOST_KNOWN_HOSTS secret (ssh-keyscan output of the host, checked by hand)}"
install -m 700 -d "$HOME/.ssh"
umask 077
printf '%s\n' "$DOCKER_HOST_SSH_KEY" > "$HOME/.ssh/id_ed25519"
printf '%s\n' "$DOCKER_HOST_KNOWN_HOSTS" >> "$HOME/.ssh/known_hosts"
