extension Keyring {
    /// Opens and decodes an event's payload, or nil if this device may not or cannot read it.
    public func open(_ event: Event) -> OpenedEvent? {
        if event.scope == .public { return OpenedEvent(clear: event) }
        guard let key = key(id: event.keyID),
            let plain = try? key.open(event.sealedPayload, aad: event.associatedData),
            let json = try? JSONValue.parse(plain),
            let payload = try? Payload(json: json)
        else { return nil }
        return OpenedEvent(event: event, payload: payload)
    }
}
