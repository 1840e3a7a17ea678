#!/usr/bin/env python3
"""Enrols a throwaway laptop with a running SyncServer and prints its device token.

For fuzzing the HTTP API with schemathesis (.ci/fuzz, issue 11 item 8): a root certificate of ORG
made here, exactly as Protocol/encoding.md §8 lays it out (independently of the Swift code), and
POST /v1/enrol. Prints the device token.

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
