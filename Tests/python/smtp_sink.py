#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) on loopback for the notifier's email tests.

Prints "ready <port>" once listening, then one JSON line per received message:
  {"mail_from", "rcpt_tos", "content" (raw, CRLF), "tls", "auth_login",
   "headers": {name: decoded value}, "parts": [{"type", "charset", "cte", "text"}],
   "defects": [...]}
Runs until stdin closes or SIGTERM.

Options:
  --port N            (0: a free port)
  --starttls          offer STARTTLS and require it (cert/key below)
  --implicit-tls      TLS from the first byte (smtps)
  --cert F --key F    PEM files for TLS
  --auth USER:PASS    require AUTH (PLAIN/LOGIN) with these credentials
  --reject RCPT=CODE  answer RCPT TO:<RCPT> with CODE (e.g. 550 or 451)
"""
import argparse
import asyncio
import email
import email.policy
import json
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_message(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = {}
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
                 "X-Priority", "X-Tickwire-Message-Id"):
        value = msg.get(name)
        if value is not None:
            headers[name] = str(value)
    parts = []
    defects = [str(d) for d in msg.defects]
    for part in msg.walk():
        defects += [str(d) for d in part.defects]
        if part.is_multipart():
            continue
        parts.append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "cte": part.get("Content-Transfer-Encoding"),
            "text": part.get_content(),
        })
    # A parse via the date header checks the RFC 5322 format.
    try:
        date_ok = msg["Date"] is not None and msg["Date"].datetime is not None
    except Exception:
        date_ok = False
    return headers, parts, defects, date_ok, msg.get_content_type()


class Sink:
    def __init__(self, reject):
        self.reject = reject

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.reject.get(address)
        if code:
            return f"{code} {'5.1.1 no such user' if code.startswith('5') else '4.2.0 try again later'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        headers, parts, defects, date_ok, top_type = parse_message(raw)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "content": raw.decode("utf-8", errors="replace"),
            # STARTTLS sets session.ssl; implicit TLS shows only on the transport.
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "auth_login": (session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None),
            "headers": headers,
            "content_type": top_type,
            "parts": parts,
            "defects": defects,
            "date_ok": date_ok,
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return "250 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--reject", action="append", default=[])
    args = ap.parse_args()

    tls_context = None
    if args.starttls or args.implicit_tls:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    reject = {}
    for item in args.reject:
        address, code = item.rsplit("=", 1)
        reject[address] = code

    user = password = None
    if args.auth:
        user, password = args.auth.split(":", 1)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    handler = Sink(reject)

    def factory():
        kwargs = dict(hostname="localhost", decode_data=False, ident="tickwire-test-sink")
        if args.starttls:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if user is not None:
            # With implicit TLS the whole session is encrypted, but aiosmtpd only counts STARTTLS.
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=not args.implicit_tls)
        return SMTP(handler, **kwargs)

    async def run():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory, host="127.0.0.1", port=args.port,
            ssl=tls_context if args.implicit_tls else None)
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"ready {port}\n")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        # Stop when the parent closes our stdin (the test process ended).
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(4096) else None)
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(run())


if __name__ == "__main__":
    main()
