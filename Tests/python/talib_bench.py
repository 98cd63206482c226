#!/usr/bin/env python3
"""TA-Lib's batch cost for Tickwire's indicator set, for `make bench`.

    talib_bench.py INPUT.csv RUNS

Loads the bars once, then calls every TA-Lib function of the set (the same calls as
talib_reference.py) over the whole series RUNS times. Prints one JSON object: bars, the
seconds of each run, and the median nanoseconds per bar.
"""
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from talib_reference import columns  # noqa: E402  (the one list of calls)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5), dtype=np.float64)
    o, h, l, c, v = (np.ascontiguousarray(data[:, i]) for i in range(5))
    runs = int(sys.argv[2])
    columns(o, h, l, c, v)  # warm up
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        table = columns(o, h, l, c, v)
        seconds.append(time.perf_counter() - started)
    print(json.dumps({
        "bars": len(c),
        "functions_columns": len(table),
        "seconds": seconds,
        "median_ns_per_bar": statistics.median(seconds) / len(c) * 1e9,
    }))


if __name__ == "__main__":
    main()
