#!/usr/bin/env bash
# Makes the Secret tickwire-bus-keys that every Tickwire pod reads its CURVE
# keys from: a key pair per service identity (`tickwire keys generate --all`),
# written to a throwaway directory that is removed afterwards. No private key
# is ever committed to the repository (README, "Running on Kubernetes").
#
#   deploy/k8s/make-keys-secret.sh [-n NAMESPACE] [--force] [--print]
#
#   -n, --namespace NS  where to create it (default: kubectl's current one)
#   --force             replace an existing Secret (new keys for everybody:
#                       restart every pod afterwards, see the README)
#   --print             print the Secret as YAML instead of creating it, e.g.
#                       for kubeseal or an external secret store; the output
#                       holds private keys
#
# The tickwire binary: $TICKWIRE_BIN, else `tickwire` on PATH, else this
# checkout's .build/release or .build/debug, else the image
# ($TICKWIRE_IMAGE, default tickwire:local) with docker.
set -euo pipefail

readonly SECRET="tickwire-bus-keys"
namespace=()
force=0
print=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n | --namespace) namespace=(--namespace "${2:?$1 needs a name}"); shift 2 ;;
        --force) force=1; shift ;;
        --print) print=1; shift ;;
        -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if ! command -v kubectl > /dev/null; then
    echo "make-keys-secret: kubectl is missing (https://kubernetes.io/docs/tasks/tools/)" >&2
    exit 1
fi
if [[ $print -eq 0 ]] && kubectl get secret "$SECRET" "${namespace[@]}" > /dev/null 2>&1; then
    if [[ $force -eq 0 ]]; then
        echo "make-keys-secret: the Secret $SECRET exists; --force replaces it (every pod needs a restart then)" >&2
        exit 1
    fi
fi

keys="$(mktemp -d)"
trap 'rm -rf "$keys"' EXIT
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ -n "${TICKWIRE_BIN:-}" ]]; then
    "$TICKWIRE_BIN" keys generate --all --out "$keys" > /dev/null
elif command -v tickwire > /dev/null; then
    tickwire keys generate --all --out "$keys" > /dev/null
elif [[ -x "$root/.build/release/tickwire" ]]; then
    "$root/.build/release/tickwire" keys generate --all --out "$keys" > /dev/null
elif [[ -x "$root/.build/debug/tickwire" ]]; then
    "$root/.build/debug/tickwire" keys generate --all --out "$keys" > /dev/null
elif command -v docker > /dev/null; then
    docker run --rm --user "$(id -u):$(id -g)" --volume "$keys:/keys" \
        "${TICKWIRE_IMAGE:-tickwire:local}" tickwire keys generate --all --out /keys > /dev/null
else
    echo "make-keys-secret: no tickwire binary (swift build --product tickwire) and no docker" >&2
    exit 1
fi

manifest="$(kubectl create secret generic "$SECRET" "${namespace[@]}" --from-file="$keys" \
    --dry-run=client --output yaml)"
if [[ $print -eq 1 ]]; then
    printf '%s\n' "$manifest"
    exit 0
fi
if [[ $force -eq 1 ]]; then
    kubectl delete secret "$SECRET" "${namespace[@]}" --ignore-not-found > /dev/null
fi
printf '%s\n' "$manifest" | kubectl create --filename - > /dev/null
echo "make-keys-secret: created the Secret $SECRET ($(find "$keys" -maxdepth 1 -name '*.key' | wc -l) identities)"
