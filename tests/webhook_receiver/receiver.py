#!/usr/bin/env python3
"""A merchant's webhook receiver, for tests: HTTPS on 127.0.0.1, checking each delivery's
Omise-Signature with Python's own hmac (independent of the Rust signer) and logging what it got.

    receiver.py (--cert C --key K | --plain) --secret BASE64 [--previous-secret BASE64]
                --port-file F --log F [--fail-first N] [--fail-until-file PATH]

--plain serves plain HTTP instead, as a developer's receiver under scripts/dev does.

Answers 200 to a verified delivery and 401 to a bad signature or a timestamp outside the replay
window. --fail-first N answers 503 to the first N requests, --fail-until-file PATH answers 503
while PATH exists: an outage a test can end. Every request is logged, one JSON line each, before
it is answered, so a sender that has its answer can read the log.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLAY_TOLERANCE_SECS = 300
MAX_BODY = 1 << 20


def verify(keys, signatures, timestamp, body):
    """Why the delivery is refused, or None: the timestamp within the replay window, and one of
    the comma-separated signatures the hex HMAC-SHA256 of `timestamp.body` under one of the keys."""
    # Plain digits only: int() would also take "+1", " 1" or "1_000", which no sender should send.
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "bad timestamp"
    sent_at = int(timestamp)
    if abs(time.time() - sent_at) > REPLAY_TOLERANCE_SECS:
        return "stale timestamp"
    message = timestamp.encode() + b"." + body
    expected = [hmac.new(key, message, hashlib.sha256).hexdigest() for key in keys]
    for candidate in signatures.split(","):
        if any(hmac.compare_digest(candidate.strip(), e) for e in expected):
            return None
    return "bad signature"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--previous-secret")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-until-file")
    args = parser.parse_args()
    if args.plain == bool(args.cert and args.key):
        parser.error("give --cert and --key, or --plain")

    keys = [base64.b64decode(s) for s in (args.secret, args.previous_secret) if s]
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY))
            refusal = verify(
                keys,
                self.headers.get("Omise-Signature", ""),
                self.headers.get("Omise-Signature-Timestamp", ""),
                body,
            )
            try:
                event = json.loads(body)
            except ValueError:
                event = {}
            if not isinstance(event, dict):
                event = {}
            with lock:
                seen[0] += 1
                failing = seen[0] <= args.fail_first or (
                    args.fail_until_file is not None and os.path.exists(args.fail_until_file)
                )
                status = 503 if failing else 200 if refusal is None else 401
                with open(args.log, "a", encoding="utf-8") as log:
                    log.write(json.dumps({
                        "verified": refusal is None,
                        "reason": refusal,
                        "timestamp": self.headers.get("Omise-Signature-Timestamp"),
                        "event_id": event.get("id"),
                        "key": event.get("key"),
                        "path": self.path,
                        "user_agent": self.headers.get("User-Agent"),
                        "signatures": len(self.headers.get("Omise-Signature", "").split(",")),
                        "body": body.decode("utf-8", "replace"),
                        "received_at": time.time(),
                        "status": status,
                    }) + "\n")
            answer = b"ok\n" if status == 200 else (refusal or "unavailable").encode() + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer)
            self.close_connection = True

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # A connection that fails its handshake is part of some tests: one line, not a traceback.
    server.handle_error = lambda _request, address: print(
        f"receiver: connection from {address} failed", file=sys.stderr
    )
    if not args.plain:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        # The handshake then runs in each request's thread, so a client that stalls it (a test
        # of timeouts, or of a sender that does not trust this certificate) holds up no other.
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    # Written whole, then renamed: a test polling the file never reads half a port.
    with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
