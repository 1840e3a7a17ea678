#!/usr/bin/env python3
"""Golden vectors for Protocol/encoding.md, written from the spec by a second implementation.

Run: python3 Protocol/vectors/generate.py > Protocol/vectors/events.json
Needs the `cryptography` package. Nonces are fixed here so the output is reproducible;
real implementations draw them at random.
"""
import base64, hashlib, hmac, json, struct
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

def s(text): b = text.encode(); return struct.pack(">I", len(b)) + b
def u64(n): return struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)
def canonical(obj): return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
def key_id(key): return hmac.new(key, b"fieldlog/key-id/v1", hashlib.sha256).digest()[:8].hex()

def event(key, nonce, origin, seq, org, scope, ctx, recorded_at, payload):
    kid = key_id(key)
    aad = s("fieldlog/payload-aad/v1") + s(origin) + u64(seq) + s(org) + s(scope) + s(kid)
    plaintext = canonical(payload)
    box = nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)
    hin = s("fieldlog/event/v1") + s(origin) + u64(seq) + s(org) + s(scope) + struct.pack(">I", len(ctx))
    for r in sorted(ctx):
        hin += s(r) + u64(ctx[r])
    hin += u64(recorded_at) + s(kid) + struct.pack(">I", len(box)) + box
    return {
        "key": key.hex(), "keyId": kid, "plaintext": plaintext.decode(), "aad": aad.hex(), "hashInput": hin.hex(),
        "event": {"id": hashlib.sha256(hin).hexdigest(), "origin": origin, "seq": seq, "org": org, "scope": scope,
                  "ctx": ctx, "recordedAt": recorded_at, "keyId": kid, "payload": base64.b64encode(box).decode()},
    }

org_key = bytes(range(32))
partnership_key = bytes(range(100, 132))
vectors = {
    "events": [
        dict(name="person registered, org scope, empty context",
             **event(org_key, bytes(12), "0123456789abcdef", 1, "basis", "org", {}, 1763000000000,
                     {"type": "person.registered", "v": 1, "at": 1762990000000, "by": "b1",
                      "person": "00112233445566778899aabbccddeeff", "name": "Rosé \"Ro\"", "descriptor": "tall, red coat\nleft hand tattoo"})),
        dict(name="contact logged, partnership scope, two-entry context",
             **event(partnership_key, bytes([7] * 12), "0123456789abcdef", 2, "basis", "partnership",
                     {"fedcba9876543210": 5, "0123456789abcdef": 1}, 1763000060000,
                     {"type": "contact.logged", "v": 1, "at": 1763000000000, "by": "b1",
                      "person": "00112233445566778899aabbccddeeff", "setting": "van", "zone": "Z3",
                      "services": {"condoms": 10, "lube": 2}, "needs": ["housing", "sexual-health"], "welfare": True, "workers": []})),
        dict(name="unknown type and fields from a newer version, negative time",
             **event(partnership_key, bytes([1] * 12), "fedcba9876543210", 9, "joanna", "partnership",
                     {"fedcba9876543210": 8}, -1,
                     {"type": "future.thing", "v": 3, "at": 0, "by": "j1", "zzz": {"nested": [1, -2, None]}, "\u00e9t\u00e9": "\u2603\u0001"})),
    ],
    "canonicalJSON": [
        {"input": '{ "b" : 1, "a" : [ true, false, null ], "\\u00e9" : "x\\/y" }', "canonical": canonical({"b": 1, "a": [True, False, None], "\u00e9": "x/y"}).decode()},
        {"input": '{"tab":"a\\tb","ctl":"\\u001f","quote":"\\"","nl":"\\n","big":-9223372036854775808}', "canonical": canonical({"tab": "a\tb", "ctl": "\u001f", "quote": "\"", "nl": "\n", "big": -9223372036854775808}).decode()},
        {"input": '{"emoji":"\\ud83d\\ude00","z":{"y":{},"x":[]}}', "canonical": canonical({"emoji": "\U0001F600", "z": {"y": {}, "x": []}}).decode()},
    ],
    "malformedJSON": ['{"a":1.5}', '{"a":1e3}', '{"a":1,"a":2}', '[1,]', '{"a":01}', '"\\ud800"', '{"a":"\u0001"}', '[1] x'],
    "partnershipCodes": [
        {"key": partnership_key.hex(), "initials": "AB", "dob": "1990-04-01", "sex": "F",
         "code": hmac.new(partnership_key, b"AB|1990-04-01|F", hashlib.sha256).hexdigest()},
    ],
}
print(json.dumps(vectors, indent=2, ensure_ascii=False))
