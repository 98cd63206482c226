#!/bin/sh
# Init container step of every Tickwire pod: copies the bus's CURVE keys from
# the Secret volume into the pod's own in-memory keys volume.
#
#   sh /opt/tickwire/install-keys.sh IDENTITY
#
# Why a copy: Kubernetes makes Secret files group-readable when the pod has an
# fsGroup (needed so the non-root user can read them at all), and Tickwire
# refuses a secret key that group or others may read (docs/security.md). The
# copy gets the modes Tickwire wants, and the pod keeps only what it needs:
# every public certificate (*.key, 0444) and its own identity's secret
# certificate (IDENTITY.key_secret, 0400), never the others' secrets.
set -eu

identity="${1:?usage: install-keys.sh IDENTITY}"
from="${TICKWIRE_KEYS_SECRET_DIR:-/var/lib/tickwire/keys-secret}"
to="${TICKWIRE_KEYS_DIR:-/var/lib/tickwire/keys}"

if [ ! -f "$from/$identity.key_secret" ] || [ ! -f "$from/bus-proxy.key" ]; then
    echo "install-keys: the Secret tickwire-bus-keys has no $identity.key_secret" \
        "or bus-proxy.key; make it with deploy/k8s/make-keys-secret.sh" \
        "(README, \"Running on Kubernetes\")" >&2
    exit 1
fi

# An init container that runs again finds its earlier copies (emptyDir).
rm -f "$to"/*.key "$to"/*.key_secret
for public in "$from"/*.key; do
    cp "$public" "$to/"
done
cp "$from/$identity.key_secret" "$to/"
chmod 0444 "$to"/*.key
chmod 0400 "$to/$identity.key_secret"
echo "install-keys: $(ls "$to" | wc -l) key files for $identity in $to"
