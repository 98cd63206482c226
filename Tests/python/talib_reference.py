#!/usr/bin/env python3
"""TA-Lib's values for every TA-Lib column of Tickwire's indicator set.

    talib_reference.py INPUT.csv OUTPUT.csv

INPUT has a header naming timestamp (or date), open, high, low, close and volume in any
order and case; rows may be oldest-first or newest-first (ISO 8601 times). OUTPUT has the timestamp, then one column per
indicator below, with an empty cell where TA-Lib gives NaN (its lookback). The calls below
are the reference for Tickwire's column names: lower-case TA-Lib name, then its parameters.
"""
import csv
import sys

import numpy as np
import talib


def columns(o, h, l, c, v):
    """Column name -> TA-Lib output array, in Tickwire's column order."""
    out = {}
    for n in (5, 10, 20, 50, 200):
        out[f"sma_{n}"] = talib.SMA(c, n)
    for n in (5, 10, 20, 50, 200):
        out[f"ema_{n}"] = talib.EMA(c, n)
    out["wma_20"] = talib.WMA(c, 20)
    out["dema_20"] = talib.DEMA(c, 20)
    out["tema_20"] = talib.TEMA(c, 20)
    out["trima_20"] = talib.TRIMA(c, 20)
    out["kama_30"] = talib.KAMA(c, 30)
    out["t3_5"] = talib.T3(c, 5, 0.7)
    up, mid, low = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    out["bbands_upper_20_2"], out["bbands_middle_20_2"], out["bbands_lower_20_2"] = up, mid, low
    out["midpoint_14"] = talib.MIDPOINT(c, 14)
    out["midprice_14"] = talib.MIDPRICE(h, l, 14)
    out["sar"] = talib.SAR(h, l, 0.02, 0.2)
    out["rsi_14"] = talib.RSI(c, 14)
    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    out["macd_12_26_9"], out["macdsignal_12_26_9"], out["macdhist_12_26_9"] = macd, signal, hist
    out["stoch_slowk_5_3_3"], out["stoch_slowd_5_3_3"] = talib.STOCH(h, l, c, 5, 3, 0, 3, 0)
    out["stochf_fastk_5_3"], out["stochf_fastd_5_3"] = talib.STOCHF(h, l, c, 5, 3, 0)
    out["stochrsi_fastk_14_5_3"], out["stochrsi_fastd_14_5_3"] = talib.STOCHRSI(c, 14, 5, 3, 0)
    out["willr_14"] = talib.WILLR(h, l, c, 14)
    out["cci_14"] = talib.CCI(h, l, c, 14)
    out["mfi_14"] = talib.MFI(h, l, c, v, 14)
    out["cmo_14"] = talib.CMO(c, 14)
    out["bop"] = talib.BOP(o, h, l, c)
    out["ultosc_7_14_28"] = talib.ULTOSC(h, l, c, 7, 14, 28)
    out["adx_14"] = talib.ADX(h, l, c, 14)
    out["adxr_14"] = talib.ADXR(h, l, c, 14)
    out["dx_14"] = talib.DX(h, l, c, 14)
    out["plus_di_14"] = talib.PLUS_DI(h, l, c, 14)
    out["minus_di_14"] = talib.MINUS_DI(h, l, c, 14)
    out["mom_10"] = talib.MOM(c, 10)
    out["roc_10"] = talib.ROC(c, 10)
    out["rocp_10"] = talib.ROCP(c, 10)
    out["rocr_10"] = talib.ROCR(c, 10)
    out["ppo_12_26"] = talib.PPO(c, 12, 26, 0)
    out["apo_12_26"] = talib.APO(c, 12, 26, 0)
    out["trix_30"] = talib.TRIX(c, 30)
    out["aroon_down_14"], out["aroon_up_14"] = talib.AROON(h, l, 14)
    out["aroonosc_14"] = talib.AROONOSC(h, l, 14)
    out["atr_14"] = talib.ATR(h, l, c, 14)
    out["natr_14"] = talib.NATR(h, l, c, 14)
    out["trange"] = talib.TRANGE(h, l, c)
    out["obv"] = talib.OBV(c, v)
    out["ad"] = talib.AD(h, l, c, v)
    out["adosc_3_10"] = talib.ADOSC(h, l, c, v, 3, 10)
    return out


def read_bars(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = [name.strip().lower() for name in next(reader)]
        time_key = "timestamp" if "timestamp" in header else "date"
        index = {name: header.index(name) for name in (time_key, "open", "high", "low", "close", "volume")}
        rows = [row for row in reader if row]
    if len(rows) > 1 and rows[0][index[time_key]] > rows[-1][index[time_key]]:
        rows.reverse()  # newest-first, as Alpha Vantage writes it
    times = [row[index[time_key]] for row in rows]
    series = [np.array([float(row[index[k]]) for row in rows], dtype=np.float64)
              for k in ("open", "high", "low", "close", "volume")]
    return times, series


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    times, (o, h, l, c, v) = read_bars(sys.argv[1])
    table = columns(o, h, l, c, v)
    with open(sys.argv[2], "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["timestamp"] + list(table))
        for i, t in enumerate(times):
            writer.writerow([t] + ["" if np.isnan(col[i]) else repr(float(col[i])) for col in table.values()])


if __name__ == "__main__":
    main()
