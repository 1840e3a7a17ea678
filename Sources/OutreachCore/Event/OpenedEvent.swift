/// An event with its payload opened and decoded.
public struct OpenedEvent: Sendable {
    public let event: Event
    public let payload: Payload

    public init(event: Event, payload: Payload) {
        self.event = event
        self.payload = payload
    }

    /// A `public` event's payload: canonical JSON in clear under the clear key id
    /// (`Protocol/erasure.md` §2), readable by anyone, the server included, with no key. Nil if
    /// it is not one.
    public init?(clear event: Event) {
        guard event.scope == .public, event.keyID == Scope.clearKeyID, !event.isPurged,
              let json = try? JSONValue.parse(event.sealedPayload), json.canonicalData() == event.sealedPayload,
              let payload = try? Payload(json: json)
        else { return nil }
        self.init(event: event, payload: payload)
    }
}
