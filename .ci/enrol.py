#!/usr/bin/env python3
"""Enrols a throwaway laptop with a running SyncServer and prints its device token.

For fuzzing the HTTP API with schemathesis (issue 11, item 8; not yet part of .ci/run): a root
certificate of ORG made here, exactly as Protocol/encoding.md §8 lays it out (independently of
the Swift code), and POST /v1/enrol. By hand:

    S=.build/debug/SyncServer; $S admin org add basis --data-dir /tmp/fz
    T=$($S admin enrol basis --data-dir /tmp/fz --format json | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
    $S serve --data-dir /tmp/fz --port 18181 &
    DT=$(python3 .ci/enrol.py http://127.0.0.1:18181 basis "$T")
    python3 -m venv /tmp/st && /tmp/st/bin/pip install schemathesis
    /tmp/st/bin/schemathesis run Protocol/openapi.yaml --url http://127.0.0.1:18181 -H "Authorization: Bearer $DT" --checks all

Usage: enrol.py URL ORG ENROLMENT-TOKEN
"""
import base64, hashlib, json, os, struct, sys, urllib.request
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

def s(text): b = text.encode(); return struct.pack(">I", len(b)) + b
def blob(b): return struct.pack(">I", len(b)) + b

url, org, token = sys.argv[1], sys.argv[2], sys.argv[3]
key = Ed25519PrivateKey.generate()
pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
fingerprint = hashlib.sha256(b"fieldlog/device-key/v1" + pub).digest()[:16].hex()
replica, partnership, device, issued = os.urandom(8).hex(), "ci-fuzz", "fuzz", 1763000000000
signed = (s("fieldlog/device-cert/v1") + s(partnership) + s(org) + s(device) + s(replica) + s("root") + blob(pub)
          + struct.pack(">Q", issued) + s(fingerprint))
certificate = {"partnership": partnership, "org": org, "device": device, "replica": replica, "role": "root", "key": pub.hex(),
               "issuedAt": issued, "issuer": fingerprint, "sig": base64.b64encode(key.sign(signed)).decode()}
body = json.dumps({"protocol": 2, "token": token, "device": device, "replica": replica, "certificates": [certificate]}).encode()
request = urllib.request.Request(url + "/v1/enrol", data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["deviceToken"])
