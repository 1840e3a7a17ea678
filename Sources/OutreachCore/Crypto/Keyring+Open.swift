import Foundation

extension Keyring {
    /// Opens and decodes an event's payload, or nil if this device may not or cannot read it.
    public func open(_ event: Event) -> OpenedEvent? {
        if event.scope == .public { return OpenedEvent(clear: event) }
        return open(event, with: nil)
    }

    /// Opens and decodes a sealed payload under `key` (nil: the key held with the event's key id).
    func open(_ event: Event, with key: ScopeKey?) -> OpenedEvent? {
        guard let plain = openPlain(event, with: key), let json = try? JSONValue.parse(plain), let payload = try? Payload(json: json) else { return nil }
        return OpenedEvent(event: event, payload: payload)
    }

    /// The type of an event's payload (not `public`) sealed under `key`, or nil where it does
    /// not open or is not a payload: read without building its fields (`Payload.type(in:)`).
    func openType(_ event: Event, with key: ScopeKey) -> String? {
        openPlain(event, with: key).flatMap(Payload.type(in:))
    }

    /// A sealed payload's plaintext, if this device holds its key and it opens.
    private func openPlain(_ event: Event, with given: ScopeKey? = nil) -> Data? {
        guard let key = given ?? key(id: event.keyID) else { return nil }
        let aad = EventEncoding.associatedDataBytes(dot: event.dot, org: event.org, scope: event.scope, keyID: event.keyID)
        return try? key.open(event.sealedPayload, aad: aad)
    }
}
