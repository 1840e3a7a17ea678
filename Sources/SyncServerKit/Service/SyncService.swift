import Foundation
import OutreachCore

/// The server's behaviour, apart from HTTP: authenticate, enrol, and run one sync exchange
/// (`Protocol/sync-model.md`). It never opens a payload.
public struct SyncService: Sendable {
    public let storage: any SyncStorage
    let now: @Sendable () -> Int64

    public init(storage: any SyncStorage, now: @escaping @Sendable () -> Int64 = Clock.nowMillis) {
        self.storage = storage
        self.now = now
    }

    /// The device a bearer token belongs to, unless unknown or revoked.
    public func authenticate(bearer token: String?) async throws -> Device {
        guard let token, !token.isEmpty, let device = try await storage.device(tokenHash: Tokens.hash(token)), device.revokedAt == nil else {
            throw ServerError(.unauthorised, "no valid device token")
        }
        return device
    }

    /// Issues a single-use enrolment token for `org`, valid for `lifetime` ms.
    public func issueEnrolment(org: String, lifetime: Int64) async throws -> String {
        let token = Tokens.generate(.enrolment)
        try await storage.addEnrolment(tokenHash: Tokens.hash(token), org: org, expiresAt: now() + lifetime)
        return token
    }

    /// Enrols a laptop with an enrolment token; returns the device and its bearer token (shown once).
    public func enrol(token: String, device name: String, replica: ReplicaID) async throws -> (Device, String) {
        let bearer = Tokens.generate(.device)
        let device = try await storage.enrol(tokenHash: Tokens.hash(token), device: name, replica: replica, deviceID: Hex.random(bytes: 6),
                                             deviceTokenHash: Tokens.hash(bearer), at: now())
        return (device, bearer)
    }

    /// One exchange: store what the device sent, answer with a page of what it lacks.
    public func sync(_ request: SyncRequestV1, from device: Device) async throws -> SyncResponseV1 {
        if let foreign = request.events.first(where: { $0.scope == .org && $0.org != device.org }) {
            throw ServerError(.notEntitled, "event \(foreign.dot) belongs to \(foreign.org) only")
        }
        let stored: Int, had: Int
        switch try await storage.push(request.events) {
        case .stored(let n, let h): (stored, had) = (n, h)
        case .rejected(let dot): throw ServerError(.forkedDot, "event \(dot) differs from the one the server holds")
        }
        let page = try await storage.page(for: device.org, after: request.vector, limit: request.limit ?? SyncRequestV1.defaultLimit)
        try await storage.markSynced(deviceID: device.id, at: now())
        return SyncResponseV1(vector: page.vector, covered: page.covered, events: page.events, more: page.more, stored: stored, alreadyHad: had)
    }
}
