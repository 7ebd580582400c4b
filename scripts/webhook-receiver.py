#!/usr/bin/env python3
"""A webhook receiver for the tests: checks each delivery's Handover-Signature with Python's own hmac (an
implementation independent of Handover's), records it as a JSON line, and answers with the scripted statuses.

Usage: webhook-receiver.py SECRET_FILE LOG_FILE [STATUS...]   (prints the port it listens on, then serves)
"""
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time

secret_file, log_file, *script = sys.argv[1:]
with open(secret_file, "rb") as handle:
    secret = handle.read().rstrip(b"\r\n")
statuses = [int(status) for status in script]
lock = threading.Lock()


def check(key, header, body):
    """Stripe's scheme: t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<body>">, within five minutes."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = fields.get("t", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, fields.get("v1", ""))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        header = self.headers.get("Handover-Signature", "")
        with lock:
            status = statuses.pop(0) if statuses else 204
            record = {
                "path": self.path,
                "eventId": self.headers.get("Handover-Event-Id"),
                "type": self.headers.get("Handover-Event-Type"),
                "contentType": self.headers.get("Content-Type"),
                "signatureValid": check(secret, header, body),
                "validWithAnotherSecret": check(secret + b"!", header, body),
                "answered": status,
                "body": json.loads(body),
            }
            with open(log_file, "a") as log:
                log.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *arguments):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
