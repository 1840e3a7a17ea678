import Foundation
import GRDB

/// A payload ready to be sealed into a new event.
public struct Draft: Sendable {
    public let scope: Scope
    public let payload: Payload

    public init(_ scope: Scope, _ payload: Payload) {
        self.scope = scope
        self.payload = payload
    }
}

extension Store {
    /// Seals and appends this device's new events in one transaction, committed before it returns.
    ///
    /// Each event gets the next seq of this replica and, as causal context, everything the store
    /// held before it (including earlier events of the same call).
    @discardableResult
    public func append(_ drafts: [Draft], keyring: Keyring, recordedAt: Int64 = Clock.nowMillis()) throws -> [Event] {
        let me = info.replica
        let org = info.org
        return try db.write { db in
            var vector = try Store.vector(db)
            let statement = try db.cachedStatement(sql: Store.insertSQL)
            var written = [Event]()
            for draft in drafts {
                guard let key = keyring.key(for: draft.scope) else {
                    throw FieldlogError.badInput("no key for scope \(draft.scope)")
                }
                let dot = Dot(me, vector[me] + 1)
                let aad = EventEncoding.associatedData(dot: dot, org: org, scope: draft.scope, keyID: key.id)
                let sealed = try key.seal(draft.payload.json.canonicalData(), aad: aad)
                let event = Event(dot: dot, org: org, scope: draft.scope, context: vector, recordedAt: recordedAt,
                                  keyID: key.id, sealedPayload: sealed)
                try Store.insert(event, statement)
                vector.advance(to: dot)
                written.append(event)
            }
            if let last = written.last { try Store.setCoverage(db, me, last.dot.seq) }
            return written
        }
    }
}
