/// An event with its payload opened and decoded.
public struct OpenedEvent: Sendable {
    public let event: Event
    public let payload: Payload

    public init(event: Event, payload: Payload) {
        self.event = event
        self.payload = payload
    }
}

extension Keyring {
    /// Opens and decodes an event's payload, or nil if this device may not or cannot read it.
    public func open(_ event: Event) -> OpenedEvent? {
        if event.scope == .public { return Self.openPublic(event) }
        guard let key = key(id: event.keyID),
            let plain = try? key.open(event.sealedPayload, aad: event.associatedData),
            let json = try? JSONValue.parse(plain),
            let payload = try? Payload(json: json)
        else { return nil }
        return OpenedEvent(event: event, payload: payload)
    }
}

extension Keyring {
    /// A `public` event's payload: canonical JSON in clear under the clear key id
    /// (`Protocol/erasure.md` §2), readable by anyone, the server included. Nil if it is not.
    public static func openPublic(_ event: Event) -> OpenedEvent? {
        guard event.scope == .public, event.keyID == Scope.clearKeyID, !event.isPurged,
              let json = try? JSONValue.parse(event.sealedPayload), json.canonicalData() == event.sealedPayload,
              let payload = try? Payload(json: json)
        else { return nil }
        return OpenedEvent(event: event, payload: payload)
    }
}
