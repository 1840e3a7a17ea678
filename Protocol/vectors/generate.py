#!/usr/bin/env python3
"""Golden vectors for Protocol/encoding.md, written from the spec by a second implementation.

Run: python3 Protocol/vectors/generate.py > Protocol/vectors/events.json
Needs the `cryptography` package. Nonces and device keys are fixed here so the output is
reproducible; real implementations draw them at random. Ed25519 signatures are deterministic.
"""
import base64, hashlib, hmac, json, struct
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

def s(text): b = text.encode(); return struct.pack(">I", len(b)) + b
def u64(n): return struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)
def canonical(obj): return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
def key_id(key): return hmac.new(key, b"fieldlog/key-id/v1", hashlib.sha256).digest()[:8].hex()
def blob(b): return struct.pack(">I", len(b)) + b

# Device keys (encoding.md §7-8, trust.md): raw Ed25519 keys, fingerprints and certificates.
def device_key(seed): return Ed25519PrivateKey.from_private_bytes(seed)
def public(key): return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def fingerprint(pub): return hashlib.sha256(b"fieldlog/device-key/v1" + pub).digest()[:16].hex()

def certificate(issuer_key, partnership, org, device, replica, role, pub, issued_at):
    issuer = fingerprint(public(issuer_key))
    signed = (s("fieldlog/device-cert/v1") + s(partnership) + s(org) + s(device) + s(replica) + s(role) + blob(pub)
              + u64(issued_at) + s(issuer))
    return {"partnership": partnership, "org": org, "device": device, "replica": replica, "role": role, "key": pub.hex(),
            "issuedAt": issued_at, "issuer": issuer, "sig": base64.b64encode(issuer_key.sign(signed)).decode(),
            "signedBytes": signed.hex(), "fingerprint": fingerprint(pub)}

def event_signature(signer, event_id):
    return base64.b64encode(signer.sign(s("fieldlog/event-sig/v1") + blob(bytes.fromhex(event_id)))).decode()

# Key grants (trust.md §5b): HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
# ChaCha20-Poly1305, written here from the RFC with the ephemeral key fixed.
def hkdf_extract(salt, ikm): return hmac.new(salt, ikm, hashlib.sha256).digest()
def hkdf_expand(prk, info, length):
    out, block, n = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([n]), hashlib.sha256).digest()
        out, n = out + block, n + 1
    return out[:length]
def labeled_extract(suite, salt, label, ikm): return hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)
def labeled_expand(suite, prk, label, info, length):
    return hkdf_expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite + label + info, length)
def x25519_raw(private): return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def agreement_private(device_seed):  # HKDF-SHA256(seed, salt "fieldlog/agreement-key/v1", empty info)
    return X25519PrivateKey.from_private_bytes(hkdf_expand(hkdf_extract(b"fieldlog/agreement-key/v1", device_seed), b"", 32))
def hpke_seal(recipient_public, ephemeral, info, plaintext):
    kem = b"KEM" + struct.pack(">H", 0x0020)
    suite = b"HPKE" + struct.pack(">HHH", 0x0020, 0x0001, 0x0003)
    enc = x25519_raw(ephemeral)
    dh = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    shared = labeled_expand(kem, labeled_extract(kem, b"", b"eae_prk", dh), b"shared_secret", enc + recipient_public, 32)
    context = b"\x00" + labeled_extract(suite, b"", b"psk_id_hash", b"") + labeled_extract(suite, b"", b"info_hash", info)
    secret = labeled_extract(suite, shared, b"secret", b"")
    key, nonce = labeled_expand(suite, secret, b"key", context, 32), labeled_expand(suite, secret, b"base_nonce", context, 12)
    return enc, ChaCha20Poly1305(key).encrypt(nonce, plaintext, b"")
def key_grant(name, device_seed, replica, partnership, scope, org, epoch, key, ephemeral_seed):
    info = s("fieldlog/key-grant/v1") + s(partnership) + s(scope) + s(org) + u64(epoch) + s(key_id(key)) + s(replica)
    recipient = x25519_raw(agreement_private(device_seed))
    enc, box = hpke_seal(recipient, X25519PrivateKey.from_private_bytes(ephemeral_seed), info, key)
    return {"name": name, "deviceSeed": device_seed.hex(), "agreementKey": recipient.hex(),
            "label": {"partnership": partnership, "scope": scope, "org": org, "epoch": epoch, "keyId": key_id(key)},
            "info": info.hex(), "key": key.hex(), "grant": {"replica": replica, "enc": base64.b64encode(enc).decode(), "box": base64.b64encode(box).decode()}}

basis_device = device_key(bytes([11] * 32))
joanna_device = device_key(bytes([22] * 32))
signers = {"0123456789abcdef": basis_device, "fedcba9876543210": joanna_device}

def event(key, nonce, origin, seq, org, scope, ctx, recorded_at, payload, signer=None, prev=None):
    plaintext = canonical(payload)
    if key is None:  # the public scope (erasure.md §2): canonical JSON in clear, no key
        kid, aad, box = "0" * 16, b"", plaintext
    else:
        kid = key_id(key)
        aad = s("fieldlog/payload-aad/v1") + s(origin) + u64(seq) + s(org) + s(scope) + s(kid)
        box = nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)
    # encoding.md §3: the id commits to the payload's SHA-256, so a purged event keeps a checkable id.
    hin = s("fieldlog/event/v3") + s(origin) + u64(seq) + s(prev or "") + s(org) + s(scope) + struct.pack(">I", len(ctx))
    for r in sorted(ctx):
        hin += s(r) + u64(ctx[r])
    hin += u64(recorded_at) + s(kid) + blob(hashlib.sha256(box).digest())
    eid = hashlib.sha256(hin).hexdigest()
    body = {"id": eid, "origin": origin, "seq": seq, "org": org, "scope": scope,
            "ctx": ctx, "recordedAt": recorded_at, "keyId": kid, "payload": base64.b64encode(box).decode(),
            "sig": event_signature(signer or signers[origin], eid)}
    if prev: body["prev"] = prev
    return {
        "key": key.hex() if key else "", "keyId": kid, "plaintext": plaintext.decode(), "aad": aad.hex(), "hashInput": hin.hex(),
        "event": body,
    }

org_key = bytes(range(32))
partnership_key = bytes(range(100, 132))
partnership = "p-golden"
vectors = {
    "partnership": partnership,
    "deviceKeys": [{"seed": bytes([11] * 32).hex(), "public": public(basis_device).hex(), "fingerprint": fingerprint(public(basis_device))},
                   {"seed": bytes([22] * 32).hex(), "public": public(joanna_device).hex(), "fingerprint": fingerprint(public(joanna_device))}],
    "certificates": [
        certificate(basis_device, partnership, "basis", "b1", "0123456789abcdef", "root", public(basis_device), 1763000000000),
        certificate(joanna_device, partnership, "joanna", "j1", "fedcba9876543210", "root", public(joanna_device), 1763000000000),
    ],
    "events": [],
}
e0 = dict(name="person registered, org scope, empty context",
             **event(org_key, bytes(12), "0123456789abcdef", 1, "basis", "org", {}, 1763000000000,
                     {"type": "person.registered", "v": 1, "at": 1762990000000, "by": "b1",
                      "person": "00112233445566778899aabbccddeeff", "name": "Rosé \"Ro\"", "descriptor": "tall, red coat\nleft hand tattoo"}))
e1 = dict(name="contact logged, partnership scope, two-entry context, chained to event 0",
             **event(partnership_key, bytes([7] * 12), "0123456789abcdef", 2, "basis", "partnership",
                     {"fedcba9876543210": 5, "0123456789abcdef": 1}, 1763000060000,
                     {"type": "contact.logged", "v": 1, "at": 1763000000000, "by": "b1",
                      "person": "00112233445566778899aabbccddeeff", "setting": "van", "zone": "Z3",
                      "services": {"condoms": 10, "lube": 2}, "needs": ["housing", "sexual-health"], "welfare": True, "workers": []},
                     prev=e0["event"]["id"]))
e2 = dict(name="unknown type and fields from a newer version, negative time",
             **event(partnership_key, bytes([1] * 12), "fedcba9876543210", 9, "joanna", "partnership",
                     {"fedcba9876543210": 8}, -1,
                     {"type": "future.thing", "v": 3, "at": 0, "by": "j1", "zzz": {"nested": [1, -2, None]}, "\u00e9t\u00e9": "\u2603\u0001"},
                     prev="ab" * 32))
e3 = dict(name="events.purged, public scope: canonical JSON in clear, naming event 0",
             **event(None, None, "0123456789abcdef", 3, "basis", "public", {"0123456789abcdef": 2}, 1763000300000,
                     {"type": "events.purged", "v": 1, "at": 1763000300000, "by": "", "purge": [e0["event"]["id"]]},
                     prev=e1["event"]["id"]))
def purged(vector):
    """An event as it travels once purged (erasure.md §4): payloadDigest in place of payload."""
    body = dict(vector["event"])
    body["payloadDigest"] = base64.b64encode(hashlib.sha256(base64.b64decode(body.pop("payload"))).digest()).decode()
    return {"name": "event 0 purged: the same id, its payload's digest in place of the payload", "hashInput": vector["hashInput"], "event": body}
def packed(e):
    """The event packed, as in a packed sync page (http.md, "Packed pages")."""
    out = bytes.fromhex(e["id"]) + bytes.fromhex(e["origin"]) + u64(e["seq"])
    out += b"\x01" + bytes.fromhex(e["prev"]) if "prev" in e else b"\x00"
    out += s(e["org"]) + s(e["scope"]) + struct.pack(">I", len(e["ctx"]))
    for replica in sorted(e["ctx"]): out += bytes.fromhex(replica) + u64(e["ctx"][replica])
    out += u64(e["recordedAt"]) + bytes.fromhex(e["keyId"])
    if "payloadDigest" in e: out += b"\x01" + blob(base64.b64decode(e["payloadDigest"]))
    else: out += b"\x00" + blob(base64.b64decode(e["payload"]))
    return out + base64.b64decode(e["sig"])
vectors["events"] = [e0, e1, e2, e3]
vectors["purged"] = [purged(e0)]
for v in vectors["events"] + vectors["purged"]: v["packed"] = packed(v["event"]).hex()
vectors.update({
    # Events that break a rule of trust.md §4 (the server refuses them; laptops set them aside).
    "attacks": [
        dict(name="bad-signature: basis's origin signed by joanna's key",
             **event(partnership_key, bytes([3] * 12), "0123456789abcdef", 3, "basis", "partnership", {"0123456789abcdef": 2}, 1763000120000,
                     {"type": "alert.issued", "v": 1, "at": 1763000100000, "by": "j1", "incident": "00" * 32, "text": "all clear", "expires": 1763600000000},
                     signer=joanna_device, prev=e1["event"]["id"])),
        dict(name="bad-scope: Org is not org",
             **event(org_key, bytes([4] * 12), "fedcba9876543210", 10, "joanna", "Org", {"fedcba9876543210": 9}, 1763000180000,
                     {"type": "person.registered", "v": 1, "at": 1763000180000, "by": "j1", "person": "11" * 16, "name": "X"},
                     prev=e2["event"]["id"])),
        dict(name="wrong-org: joanna's device writing as basis",
             **event(partnership_key, bytes([5] * 12), "fedcba9876543210", 11, "basis", "partnership", {"fedcba9876543210": 10}, 1763000240000,
                     {"type": "event.retracted", "v": 1, "at": 1763000240000, "by": "j1", "target": "22" * 32, "reason": "error"},
                     prev="cd" * 32)),
    ],
    "canonicalJSON": [
        {"input": '{ "b" : 1, "a" : [ true, false, null ], "\\u00e9" : "x\\/y" }', "canonical": canonical({"b": 1, "a": [True, False, None], "\u00e9": "x/y"}).decode()},
        {"input": '{"tab":"a\\tb","ctl":"\\u001f","quote":"\\"","nl":"\\n","big":-9223372036854775808}', "canonical": canonical({"tab": "a\tb", "ctl": "\u001f", "quote": "\"", "nl": "\n", "big": -9223372036854775808}).decode()},
        {"input": '{"emoji":"\\ud83d\\ude00","z":{"y":{},"x":[]}}', "canonical": canonical({"emoji": "\U0001F600", "z": {"y": {}, "x": []}}).decode()},
        {"input": '{"whole":[5.0,1e3,2.5e1,-4.00E+2,0.0]}', "canonical": canonical({"whole": [5, 1000, 25, -400, 0]}).decode()},
    ],
    "malformedJSON": ['{"a":1.5}', '{"a":1e-1}', '{"a":1e19}', '{"a":1,"a":2}', '[1,]', '{"a":01}', '"\\ud800"', '{"a":"\u0001"}', '[1] x'],
    "keyGrants": [
        key_grant("basis's org key, epoch 1, to b1", bytes([11] * 32), "0123456789abcdef", partnership, "org", "basis", 1,
                  bytes(range(200, 232)), bytes([42] * 32)),
        key_grant("the partnership key, epoch 3, to j1", bytes([22] * 32), "fedcba9876543210", partnership, "partnership", "", 3,
                  bytes(range(50, 82)), bytes([43] * 32)),
    ],
    "partnershipCodes": [
        {"key": partnership_key.hex(), "initials": "AB", "dob": "1990-04-01", "sex": "F",
         "code": hmac.new(partnership_key, b"AB|1990-04-01|F", hashlib.sha256).hexdigest()},
    ],
})
print(json.dumps(vectors, indent=2, ensure_ascii=False))
