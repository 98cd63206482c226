#!/usr/bin/env python3
"""Read Tickwire bus messages and print them as JSON lines.

Written only from docs/bus.md: it needs pyzmq, grpcio-tools and protobuf
(see requirements.txt next to this file) and the .proto file, nothing else.

    python Tests/python/read_bus.py                      # 10 messages from tick.*
    python Tests/python/read_bus.py tick.AAPL --count 5  # exactly tick.AAPL
    python Tests/python/read_bus.py status. alert. --count 3 --timeout 30

One JSON line per message goes to stdout; a summary JSON line goes to stderr.
Exit status: 0 when --count messages arrived, 1 on timeout, 2 on bad usage or setup.
"""

from __future__ import annotations

import argparse
import os
import importlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path

SCHEMA_VERSION = 1
TERMINATOR = b"\x00"
KNOWN_KINDS = {"tick", "bar", "features", "signal", "market", "status", "alert"}
# The payload each topic kind carries (the `payload` oneof field names).
PAYLOADS_BY_KIND = {
    "tick": {"trade", "quote"},
    "bar": {"bar"},
    "features": {"features"},
    "signal": {"signal"},
    "market": {"session"},
    "status": {"status"},
    "alert": {"alert"},
}
KEY_RE = re.compile(r"^[A-Za-z0-9.\-_/:^=+]{1,32}$")
DEFAULT_PROTO_DIR = Path(__file__).resolve().parents[2] / "Sources" / "Contracts" / "Proto"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Print Tickwire bus messages as JSON lines.")
    parser.add_argument("patterns", nargs="*", default=["tick."],
                        help="topic patterns: ending in '.' (or empty) = prefix, else exact topic (default: tick.)")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:7751",
                        help="the proxy's XPUB side (default: %(default)s)")
    parser.add_argument("--count", type=int, default=10, help="messages to read (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait in total (default: %(default)s)")
    parser.add_argument("--proto", type=Path, default=DEFAULT_PROTO_DIR,
                        help="directory holding tickwire.proto (default: the repo's Sources/Contracts/Proto)")
    parser.add_argument("--keys", type=Path, default=None,
                        help="the bus's CURVE key directory (default: $TICKWIRE_KEYS_DIR, else ~/.config/tickwire/keys)")
    parser.add_argument("--identity", default="bus-tap",
                        help="whose key pair to connect with (default: %(default)s, which may read but not publish)")
    parser.add_argument("--insecure", action="store_true",
                        help="connect without CURVE, for a bus run with bus.security: none")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def default_keys_directory() -> Path:
    """Where Tickwire keeps the bus's keys unless told otherwise (docs/security.md)."""
    if os.environ.get("TICKWIRE_KEYS_DIR"):
        return Path(os.environ["TICKWIRE_KEYS_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tickwire" / "keys"


def use_curve_keys(socket, keys: Path, identity: str) -> None:
    """Makes `socket` a CURVE client as `identity`, checking bus-proxy's public key."""
    import zmq.auth

    try:
        public, secret = zmq.auth.load_certificate(keys / f"{identity}.key_secret")
        server_public, _ = zmq.auth.load_certificate(keys / "bus-proxy.key")
    except (OSError, ValueError) as error:
        raise fail(f"cannot load the bus keys from {keys}: {error} (or pass --insecure for an unsecured bus)")
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = server_public


def subscription_prefix(pattern: str) -> bytes:
    """Turns a pattern into the bytes given to ZMQ SUBSCRIBE (a byte-prefix match)."""
    if pattern in ("", "*"):
        return b""
    if pattern.endswith("*"):  # 'tick.*' is accepted as a spelling of 'tick.'
        pattern = pattern[:-1]
    if pattern.endswith("."):
        return pattern.encode("utf-8")
    kind, dot, key = pattern.partition(".")
    if not dot or kind not in KNOWN_KINDS or not KEY_RE.match(key):
        raise ValueError(f"not a topic or prefix: {pattern!r}")
    return pattern.encode("utf-8") + TERMINATOR  # exact: the NUL stops tick.AAPL matching tick.AAPLX


def fail(message: str) -> SystemExit:
    print(f"read_bus: {message}", file=sys.stderr)
    return SystemExit(2)


def load_schema(proto_dir: Path, out_dir: str):
    """Generates tickwire_pb2 into out_dir with the protoc bundled in grpcio-tools and imports it."""
    proto = proto_dir / "tickwire.proto"
    if not proto.is_file():
        raise fail(f"{proto} not found (use --proto DIR)")
    try:
        from grpc_tools import protoc
    except ImportError:
        raise fail("grpcio-tools is missing: pip install -r Tests/python/requirements.txt")
    status = protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out_dir}", "tickwire.proto"])
    if status != 0:
        raise fail(f"protoc failed on {proto} (exit {status})")
    sys.path.insert(0, out_dir)
    return importlib.import_module("tickwire_pb2")


def parse_topic(frame: bytes) -> tuple[str, str] | None:
    """Splits a topic frame into (kind, key), or None if it breaks the grammar."""
    if not frame.endswith(TERMINATOR):
        return None
    try:
        body = frame[:-1].decode("utf-8")
    except UnicodeDecodeError:
        return None
    kind, dot, key = body.partition(".")  # first dot only: keys such as BRK.B contain dots
    if not dot or kind not in KNOWN_KINDS or not KEY_RE.match(key):
        return None
    return kind, key


class SequenceChecker:
    """Tracks sequence numbers per (producer, topic) as docs/bus.md describes."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str, int, str], int] = {}
        self.started: dict[tuple[str, str], int] = {}
        self.gaps = 0
        self.lost = 0
        self.duplicates = 0
        self.restarts = 0

    def record(self, service: str, instance: str, started_at_ns: int, topic: str, seq: int) -> str:
        producer = (service, instance)
        known_start = self.started.get(producer)
        if known_start is not None and known_start != started_at_ns:
            # Same service and instance, new process: forget the old numbering.
            self.restarts += 1
            self.last = {k: v for k, v in self.last.items() if k[:2] != producer}
        self.started[producer] = started_at_ns
        stream = (service, instance, started_at_ns, topic)
        previous = self.last.get(stream)
        if previous is None:
            self.last[stream] = seq
            return "first"  # joined late: not a gap
        if seq == previous + 1:
            self.last[stream] = seq
            return "in_order"
        if seq > previous:
            self.last[stream] = seq
            self.gaps += 1
            self.lost += seq - previous - 1
            return "gap"
        self.duplicates += 1
        return "duplicate"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        prefixes = [subscription_prefix(p) for p in args.patterns]
    except ValueError as error:
        print(f"read_bus: {error}", file=sys.stderr)
        return 2

    try:
        import zmq
        from google.protobuf.json_format import MessageToDict
        from google.protobuf.message import DecodeError
    except ImportError as error:
        raise fail(f"{error.name} is missing: pip install -r Tests/python/requirements.txt")

    with tempfile.TemporaryDirectory(prefix="tickwire-pb2-") as out_dir:
        pb = load_schema(args.proto, out_dir)

        context = zmq.Context()
        socket = context.socket(zmq.SUB)
        socket.setsockopt(zmq.LINGER, 0)
        if not args.insecure:
            use_curve_keys(socket, args.keys or default_keys_directory(), args.identity)
        try:
            socket.connect(args.endpoint)
        except zmq.ZMQError as error:
            socket.close()
            context.term()
            raise fail(f"cannot connect to {args.endpoint!r}: {error}")
        for prefix in prefixes:
            socket.setsockopt(zmq.SUBSCRIBE, prefix)
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)

        sequences = SequenceChecker()
        skipped = {"frames": 0, "topic": 0, "payload": 0, "version": 0}
        received = 0
        started = time.monotonic()
        deadline = started + args.timeout
        try:
            while received < args.count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not poller.poll(timeout=max(1, int(min(remaining, 0.5) * 1000))):
                    continue
                while received < args.count:
                    try:
                        frames = socket.recv_multipart(flags=zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if len(frames) != 2:
                        skipped["frames"] += 1
                        continue
                    parsed = parse_topic(frames[0])
                    if parsed is None:
                        skipped["topic"] += 1
                        continue
                    kind, key = parsed
                    envelope = pb.Envelope()
                    try:
                        envelope.ParseFromString(frames[1])
                    except DecodeError:
                        skipped["payload"] += 1
                        continue
                    if envelope.schema_version != SCHEMA_VERSION:
                        skipped["version"] += 1
                        continue
                    payload_name = envelope.WhichOneof("payload")
                    if payload_name not in PAYLOADS_BY_KIND[kind]:
                        skipped["payload"] += 1  # no payload, or the wrong one for this topic
                        continue
                    topic = f"{kind}.{key}"
                    producer = envelope.producer
                    sequences.record(producer.service, producer.instance, producer.started_at_ns,
                                     topic, envelope.sequence)
                    line = MessageToDict(getattr(envelope, payload_name), preserving_proto_field_name=True)
                    line.update({
                        "topic": topic,
                        "producer": f"{producer.service}/{producer.instance}",
                        "seq": envelope.sequence,
                        "event_time_ns": envelope.event_time_ns,
                        "publish_time_ns": envelope.publish_time_ns,
                        "kind": payload_name,
                    })
                    print(json.dumps(line), flush=True)
                    received += 1
        except KeyboardInterrupt:
            pass
        finally:
            socket.close()
            context.term()

    summary = {
        "summary": True,
        "received": received,
        "wanted": args.count,
        "timed_out": received < args.count,
        "elapsed_s": round(time.monotonic() - started, 3),
        "skipped": skipped,
        "gaps": sequences.gaps,
        "lost": sequences.lost,
        "duplicates": sequences.duplicates,
        "restarts": sequences.restarts,
    }
    print(json.dumps(summary), file=sys.stderr, flush=True)
    return 0 if received >= args.count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
