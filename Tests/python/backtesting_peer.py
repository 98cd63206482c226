"""backtesting.py (PyPI `backtesting==0.6.6`) as a peer of `tickwire backtest`.

Usage:
  backtesting_peer.py --bars BARS.csv --out BACKTEST_DIR --commission 0.001 --position-size 0.9
                      [--fill next_open|close] [--long-only] [--capital 100000]
                      [--timezone America/New_York] [--trade-tolerance 0] [--equity-tolerance 1e-6]

BACKTEST_DIR is a `tickwire backtest --out` directory of ONE ticker (decisions.csv, trades.csv,
summary.json), run with `--position-size F --whole-shares --no-stops --slippage 0` and the
same --commission, --fill, --long-only and --capital as given here.

backtesting.py replays OUR signals (decisions.csv's action, bar by bar) with its own broker:
  BUY  -> long  (`buy(size=F)`; a short closes first: exclusive_orders=True)
  SELL -> short (`sell(size=F)`; a long closes first), or with --long-only: close a long
  HOLD -> nothing; a signal in the direction of the open position -> nothing
  (tickwire's Account.signal(...) rules). Fills: the next bar's open (trade_on_close=False,
  tickwire's next_open) or the signal bar's close (trade_on_close=True, tickwire's close);
  commission a fraction of the traded value on each side; spread (slippage) 0; no stops.
  Sizing: backtesting.py turns a fractional size F into
  int(equity * F // (fill * (1 + commission))) whole shares at the fill; tickwire's Account
  sizes `--position-size` positions with the same formula at the fill.
  A trade still open at the end: tickwire closes it at the last close (paying commission);
  backtesting.py's finalize_trades would close it at the last bar's OPEN (a re-run of the
  broker on the last bar), so instead it is left open and closed here by hand at the last
  close: the final equity is backtesting.py's last equity minus that exit's commission, and it
  counts as a trade.

Prints one JSON line: each side's trade count and final equity, their differences, the first
trade that differs (side, entry time, shares), and `agree`. Exits 1 outside the tolerance:
  trade count: equal (--trade-tolerance 0). With the same signals, fills and sizing both
    sides take the same trades; one known exception is a signal on the very last bar with
    --fill close (tickwire fills it at that close and closes it at once; backtesting.py's
    order is never processed): +1 trade on our side, which the caller can allow with
    --trade-tolerance 1.
  final equity: 1e-6 relative, 0.0001 % (--equity-tolerance 1e-6). Both sides compute the
    same numbers in nearly the same order; what remains is floating point rounding in
    sizing and cash updates (measured: at most 2e-14 relative over 40 to 370 trades on the
    NVDA and ORCL daily files, both fills, long-short and long-only). A share count within
    an ulp of a whole number could round down on one side only: one share of one trade,
    ~1e-5 of equity at most, and about 1e-8 likely per run; not seen.
    The last-bar --fill close signal above also costs our side two commissions
    (2 x commission x position size of equity): allow that with --equity-tolerance too.
A run where equity reached zero ("ruined", at a bar's close) agrees when both sides are ruined
at the same bar after the same trades: backtesting.py then books equity 0, tickwire what the
account really holds (below zero after a gap), so final equity is not compared then.
Exit 2: bad input (a file missing, a decision time not among the bars, a close that differs).
"""

import argparse
import csv
import json
import math
import sys
import warnings


def fail(message: str) -> None:
    print(f"backtesting_peer.py: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import backtesting
    import pandas as pd
    from backtesting import Backtest, Strategy
except ImportError as error:  # a missing package is a failure the caller reports
    fail(f"needs backtesting==0.6.6 and pandas (Tests/python/requirements.txt): {error}")

# The sizing, commission and end-of-run semantics above were read from 0.6.6's source.
if backtesting.__version__ != "0.6.6":
    fail(f"needs backtesting==0.6.6 (its sizing and fill rules were checked), found {backtesting.__version__}")


def read_bars(path: str, timezone: str) -> "pd.DataFrame":
    frame = pd.read_csv(path)
    columns = {c.lower(): c for c in frame.columns}
    time_column = columns.get("timestamp") or columns.get("date") or columns.get("time") or frame.columns[0]
    index = pd.to_datetime(frame[time_column])
    if index.dt.tz is None:
        index = index.dt.tz_localize(timezone)
    index = index.dt.tz_convert("UTC")
    bars = pd.DataFrame(
        {
            "Open": frame[columns["open"]].astype(float).values,
            "High": frame[columns["high"]].astype(float).values,
            "Low": frame[columns["low"]].astype(float).values,
            "Close": frame[columns["close"]].astype(float).values,
            "Volume": frame[columns["volume"]].astype(float).values if "volume" in columns else 0.0,
        },
        index=pd.DatetimeIndex(index.values, name="time"),
    )
    if not bars.index.is_monotonic_increasing or bars.index.has_duplicates:
        fail(f"{path}: bar times must be increasing and unique")
    return bars


def read_decisions(path: str, bars: "pd.DataFrame") -> dict:
    actions = {}
    positions = {t: i for i, t in enumerate(bars.index)}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            time = pd.Timestamp(row["time"]).tz_convert("UTC").tz_localize(None)
            if time not in positions:
                fail(f"{path}: decision at {row['time']} is not a bar of the bar file (wrong --timezone?)")
            i = positions[time]
            close = float(row["close"])
            if not math.isclose(close, bars["Close"].iloc[i], rel_tol=1e-9):
                fail(f"{path}: decision at {row['time']} has close {close}, the bar {bars['Close'].iloc[i]}")
            actions[i] = row["action"]
    return actions


def read_trades(path: str) -> list:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", required=True)
    parser.add_argument("--out", required=True, help="the `tickwire backtest --out` directory")
    parser.add_argument("--commission", type=float, required=True)
    parser.add_argument("--position-size", type=float, required=True)
    parser.add_argument("--fill", choices=["next_open", "close"], default="next_open")
    parser.add_argument("--long-only", action="store_true")
    parser.add_argument("--capital", type=float, default=100_000.0)
    parser.add_argument("--timezone", default="America/New_York", help="of bar times without a zone")
    parser.add_argument("--trade-tolerance", type=int, default=0)
    parser.add_argument("--equity-tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    if not 0 < args.position_size < 1:
        fail("--position-size must be in (0, 1): backtesting.py reads 1 and more as a share count")

    bars = read_bars(args.bars, args.timezone)
    bars.index = bars.index.tz_localize(None)
    actions = read_decisions(f"{args.out}/decisions.csv", bars)
    ours_trades = read_trades(f"{args.out}/trades.csv")
    with open(f"{args.out}/summary.json") as handle:
        summary = json.load(handle)

    fraction, long_only = args.position_size, args.long_only

    class Replay(Strategy):
        def init(self):
            pass

        def next(self):
            action = actions.get(len(self.data) - 1)
            if action == "BUY":
                if not self.position.is_long:
                    self.buy(size=fraction)
            elif action == "SELL":
                if long_only:
                    if self.position.is_long:
                        self.position.close()
                elif not self.position.is_short:
                    self.sell(size=fraction)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = Backtest(
            bars, Replay, cash=args.capital, spread=0.0, commission=args.commission, margin=1.0,
            trade_on_close=args.fill == "close", hedging=False, exclusive_orders=True, finalize_trades=False)
        stats = backtest.run()

    strategy = stats["_strategy"]
    last_close = float(bars["Close"].iloc[-1])
    still_open = list(strategy.trades)
    closed = stats["_trades"]
    peer_equity = float(stats["Equity Final [$]"]) - sum(abs(t.size) * last_close * args.commission for t in still_open)
    peer_trades = [
        ("long" if r.Size > 0 else "short", pd.Timestamp(r.EntryTime), abs(int(r.Size))) for r in closed.itertuples()
    ] + [("long" if t.size > 0 else "short", pd.Timestamp(t.entry_time), abs(int(t.size))) for t in still_open]
    curve = stats["_equity_curve"]["Equity"]
    peer_ruin = next((t for t, e in curve.items() if e <= 0), None)

    ours = [
        (t["side"], pd.Timestamp(t["entry_time"]).tz_convert("UTC").tz_localize(None), int(round(float(t["shares"]))))
        for t in ours_trades
    ]
    first_difference = None
    for k in range(max(len(ours), len(peer_trades))):
        a = ours[k] if k < len(ours) else None
        b = peer_trades[k] if k < len(peer_trades) else None
        if a != b:
            show = lambda t: None if t is None else {"side": t[0], "entry": t[1].isoformat(), "shares": t[2]}
            first_difference = {"trade": k, "ours": show(a), "peer": show(b)}
            break

    our_equity = float(summary["final_equity"])
    our_ruin = None
    with open(f"{args.out}/equity.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["equity"] and float(row["equity"]) <= 0:
                our_ruin = pd.Timestamp(row["time"]).tz_convert("UTC").tz_localize(None)
                break
    relative = abs(our_equity - peer_equity) / max(abs(peer_equity), 1e-9)
    trade_difference = len(ours) - len(peer_trades)
    trades_agree = abs(trade_difference) <= args.trade_tolerance
    if our_ruin is None and peer_ruin is None:
        agree = trades_agree and relative <= args.equity_tolerance
    else:
        # Ruined (equity reached zero at a close): backtesting.py then books equity 0, tickwire
        # what the account really holds (below zero after a gap); both must be ruined at the
        # same bar after the same trades.
        agree = trades_agree and our_ruin is not None and peer_ruin is not None and our_ruin == peer_ruin
    report = {
        "bars": args.bars,
        "fill": args.fill,
        "long_only": long_only,
        "commission": args.commission,
        "position_size": fraction,
        "trades": {"ours": len(ours), "peer": len(peer_trades), "difference": trade_difference,
                   "tolerance": args.trade_tolerance},
        "final_equity": {"ours": our_equity, "peer": peer_equity, "relative_difference": relative,
                         "tolerance": args.equity_tolerance},
        "open_at_end": len(still_open),
        "ruined": {"ours": our_ruin.isoformat() if our_ruin is not None else None,
                   "peer": pd.Timestamp(peer_ruin).isoformat() if peer_ruin is not None else None},
        "first_difference": first_difference,
        "agree": agree,
    }
    print(json.dumps(report))
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
