#!/usr/bin/env python3
"""The demo's webhook receiver: verifies each delivery's X-Warden-Signature (HMAC-SHA256 of
the body with the shared key, as docs/operations.md "Alerts" shows) and timestamp, and appends
one line per event to a JSON-lines file: kind, severity, instance, summary and whether the
signature verified. Usage: receiver.py PORT KEY_FILE OUT_FILE"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, key_file, out_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(key_file, "rb") as f:
    key = f.read().strip()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("X-Warden-Signature", ""))
        event = json.loads(body)
        sent_at = int(self.headers.get("X-Warden-Timestamp", "0"))
        fresh = sent_at == event["delivery"]["sent_at"] and abs(time.time() - sent_at) < 300
        line = {
            "kind": event["kind"],
            "severity": event["severity"],
            "instance": event.get("instance"),
            "summary": event["summary"],
            "signature_verified": signed and fresh,
        }
        with open(out_file, "a") as out:
            out.write(json.dumps(line) + "\n")
        self.send_response(204 if signed and fresh else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
