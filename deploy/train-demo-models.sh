#!/bin/sh
# Trains the demo's models on simulated history, as `make demo-models` does, unless they are
# there already. docker-compose.yml runs it once (the train-demo-models service) before the
# signal generator starts; it is installed in the image as /usr/local/bin/train-demo-models.
#
# Environment (defaults in brackets):
#   TICKWIRE_CONFIG        config file                      [/etc/tickwire/demo.json]
#   TICKWIRE_MODELS_DIR    where the models go              [models/demo]
#   TICKWIRE_TRAIN_TICKERS symbols to train on              [AAPL MSFT AMZN]
#
# The models are written to a temporary directory next to the target and moved into place
# only when training succeeded, so an interrupted run leaves no half set; report.json marks
# a finished one.
set -eu

case "${1:-}" in
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "train-demo-models: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

config="${TICKWIRE_CONFIG:-/etc/tickwire/demo.json}"
models="${TICKWIRE_MODELS_DIR:-models/demo}"
tickers="${TICKWIRE_TRAIN_TICKERS:-AAPL MSFT AMZN}"

if [ -f "$models/report.json" ]; then
    echo "train-demo-models: $models/report.json exists; nothing to do"
    exit 0
fi

partial="$models.partial"
data="$partial/data"
rm -rf "$partial"
mkdir -p "$data"

files=""
for symbol in $tickers; do
    tickwire history --provider simulated --symbol "$symbol" --interval 5s --bars 2000 \
        --config "$config" --output "$data/$symbol.csv"
    files="$files $data/$symbol.csv"
done
# $files is a list of paths without spaces (symbols are checked by tickwire history).
# shellcheck disable=SC2086
tickwire train --config "$config" --data $files --out "$partial/models" --trees 30 --folds 3

rm -rf "$models"
mv "$partial/models" "$models"
rm -rf "$partial"
echo "train-demo-models: models written to $models"
