#!/usr/bin/env bash
# `make fuzz`: the bus flood against a running demo stack, then every libFuzzer target for a
# bounded time. Fails (exit 1) if anything failed; the logs stay in the work directory printed.
#
#   FUZZ_FRAMES   frames bus-fuzz sends (1000000)
#   FUZZ_RATE     frames per second at most (20000)
#   FUZZ_SEED     bus-fuzz's seed (1)
#   FUZZ_SECONDS  seconds per libFuzzer target (60)
#   FUZZ_TARGETS  libFuzzer targets to run (all of Fuzz/Targets)
#   FUZZ_SKIP_FLOOD=1 / FUZZ_SKIP_LIBFUZZER=1  skip a part
#   BIN_DIR       where the debug executables are (swift build --show-bin-path)
set -uo pipefail
cd "$(dirname "$0")/.."

readonly FRAMES=${FUZZ_FRAMES:-1000000}
readonly RATE=${FUZZ_RATE:-20000}
readonly SEED=${FUZZ_SEED:-1}
readonly SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
readonly BIN_DIR=${BIN_DIR:-$(swift build --show-bin-path)}
readonly WORK=$(mktemp -d /tmp/tickwire-fuzz.XXXXXX)
failed=()
stack=""

# Whatever happens, the stack does not outlive the script.
stop_stack() {
    if [[ -n $stack ]]; then
        kill -TERM "$stack" 2>/dev/null
        wait "$stack"
        stack=""
    fi
}
trap stop_stack EXIT
trap 'stop_stack; exit 130' INT TERM

echo "fuzz: work directory $WORK"

flood() {
    python3 - "$WORK" <<'PY' || return 1
import json, socket, sys
work = sys.argv[1]
config = json.load(open("config/demo.json"))
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
xsub, xpub, history = (f"tcp://127.0.0.1:{free_port()}" for _ in range(3))
# Unsecured loopback bus: on a secured one bus-proxy refuses bus-fuzz's forged producers
# before any service sees them (fuzz-envelope covers the proxy's gate).
config["bus"] = {"publish_endpoint": xsub, "subscribe_endpoint": xpub, "proxy_xsub_bind": xsub, "proxy_xpub_bind": xpub,
                 "security": "none"}
config["ingestor"]["history_bind"] = history
config["processor"]["history_endpoints"] = [history]
config["logging"]["directory"] = f"{work}/logs"
config["notifications"]["data_directory"] = f"{work}/data"
config["models"]["state_file"] = f"{work}/data/ensemble_state.json"
config["heartbeat"]["interval_seconds"] = 2
# bus-tap's table is for people; it has no heartbeat to check.
config["stack"]["services"] = [s for s in config["stack"]["services"] if s["name"] != "bus-tap"]
json.dump(config, open(f"{work}/config.json", "w"), indent=2)
PY
    "$BIN_DIR/tickwire" up --config "$WORK/config.json" >"$WORK/stack.log" 2>&1 &
    stack=$!
    local status=0
    "$BIN_DIR/bus-fuzz" --config "$WORK/config.json" --frames "$FRAMES" --rate "$RATE" --seed "$SEED" \
        --report-json >"$WORK/bus-fuzz.json" || status=$?
    stop_stack
    echo "fuzz: the stack's output is in $WORK/stack.log, its logs in $WORK/logs"
    return "$status"
}

libfuzzer() {
    local targets=${FUZZ_TARGETS:-$(ls Fuzz/Targets)}
    local target status
    for target in $targets; do
        echo "fuzz: building fuzz-$target"
        if ! TICKWIRE_FUZZ=1 swift build --scratch-path .build-fuzz --product "fuzz-$target" \
            -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld >"$WORK/build-$target.log" 2>&1; then
            tail -20 "$WORK/build-$target.log"
            failed+=("build of fuzz-$target")
            continue
        fi
    done
    for target in $targets; do
        [[ -x .build-fuzz/debug/fuzz-$target ]] || continue
        echo "fuzz: fuzz-$target for $SECONDS_PER_TARGET s"
        mkdir -p "$WORK/corpus/$target" "$WORK/crashes"
        status=0
        # Without Swift's backtracer libFuzzer sees the crash and saves the input.
        SWIFT_BACKTRACE=enable=no ".build-fuzz/debug/fuzz-$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$WORK/crashes/$target-" \
            "$WORK/corpus/$target" "Fuzz/corpus/$target" >"$WORK/libfuzzer-$target.log" 2>&1 || status=$?
        grep -E "^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)" "$WORK/libfuzzer-$target.log" |
            tr '\n' ' '
        echo
        if [[ $status -ne 0 ]]; then
            grep -E "ERROR|Fatal error|SUMMARY|Test unit written" "$WORK/libfuzzer-$target.log" | head -5
            failed+=("fuzz-$target (see $WORK/libfuzzer-$target.log)")
        fi
    done
}

if [[ ${FUZZ_SKIP_FLOOD:-0} != 1 ]]; then
    flood || failed+=("bus-fuzz (report: $WORK/bus-fuzz.json)")
fi
if [[ ${FUZZ_SKIP_LIBFUZZER:-0} != 1 ]]; then
    libfuzzer
fi
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "fuzz: passed"
