import Foundation
import OutreachCore

/// The server's roster of one partnership, built from storage once (every certificate's
/// signature checked), then kept: an enrolment or a pushed certificate is admitted into it
/// (only the new certificates checked), and it is built again only when something may have
/// changed it behind this process (`invalidate`: another instance, an administrator).
/// Requests that find it unbuilt wait for one build, not one each.
actor TrustCache {
    let storage: any SyncStorage
    private var cached: Loaded?
    private var building: Task<Loaded, any Error>?
    /// Bumped by `invalidate`: a build begun before it is not kept.
    private var generation = 0
    /// How many times the roster was built from storage (tests hold enrolments to none).
    private(set) var builds = 0

    struct Loaded: Sendable {
        var record: TrustRecord
        var roster: Roster
        var published: Published

        /// Admits `certificates` (pinning as given), records those not recorded yet, publishes again.
        mutating func admit(_ certificates: [DeviceCertificate], pinning: Roster.PinPolicy) {
            roster.admit(certificates, pinning: pinning)
            let recorded = Set(record.certificates.map(\.fingerprint))
            record.certificates += certificates.filter { !recorded.contains($0.fingerprint) }
            record.pins = roster.pins
            published = Published(roster)
        }
    }

    /// What every answer tells a laptop of the roster: its digest, and its certificates in order
    /// (worked out once per roster, not at every request).
    struct Published: Sendable {
        let digest: String
        let certificates: [DeviceCertificate]
        init(_ roster: Roster) { (digest, certificates) = (roster.digest, roster.certificates) }
    }

    init(storage: any SyncStorage) { self.storage = storage }

    /// The roster and what answers publish of it, from one load.
    func current() async throws -> (roster: Roster, published: Published) {
        let loaded = try await load()
        return (loaded.roster, loaded.published)
    }

    /// What storage holds (as of the load) and the roster built from it.
    func recordAndRoster() async throws -> (record: TrustRecord, roster: Roster) {
        let loaded = try await load()
        return (loaded.record, loaded.roster)
    }

    func invalidate() {
        cached = nil
        building = nil
        generation += 1
    }

    /// Reads storage again for what another instance or an administrator added since the
    /// roster was kept, and admits it: only certificates not yet accepted are checked, so a
    /// client pushing events of unknown signers cannot make each request check them all again
    /// (a new pin means one full build). Certificates are never removed from storage.
    func refresh() async throws -> (roster: Roster, published: Published) {
        guard cached != nil else { return try await current() }
        let generation = self.generation
        let record = try await storage.trust()
        guard generation == self.generation, var loaded = cached, record.partnership == loaded.record.partnership,
              record.pins.allSatisfy({ loaded.record.pins[$0.key] == $0.value }) else {
            invalidate()
            return try await current()
        }
        let known = Set(loaded.roster.accepted.keys)
        let new = record.certificates.filter { !known.contains($0.fingerprint) }
        guard !new.isEmpty else { return (loaded.roster, loaded.published) }
        loaded.admit(new, pinning: .never)
        cached = loaded
        return (loaded.roster, loaded.published)
    }

    /// `added` was written to storage: admit it into the kept roster (pinning as the write did).
    func admitted(_ added: TrustRecord, pinning: Roster.PinPolicy) {
        guard var loaded = cached else {
            invalidate()  // a build under way may have read storage before the write
            return
        }
        if loaded.record.partnership == nil, let partnership = added.partnership {
            loaded.record.partnership = partnership
            loaded.roster = loaded.record.roster()
        }
        loaded.admit(added.certificates, pinning: pinning)
        cached = loaded
    }

    private func load() async throws -> Loaded {
        if let cached { return cached }
        let task: Task<Loaded, any Error>
        if let building {
            task = building
        } else {
            let storage = self.storage
            task = Task { try await Self.build(from: storage) }
            building = task
            builds += 1
        }
        let generation = self.generation
        do {
            let loaded = try await task.value
            if generation == self.generation {
                cached = loaded
                building = nil
            }
            return loaded
        } catch {
            if generation == self.generation { building = nil }
            throw error
        }
    }

    private static func build(from storage: any SyncStorage) async throws -> Loaded {
        let record = try await storage.trust()
        let roster = record.roster()
        return Loaded(record: record, roster: roster, published: Published(roster))
    }
}

extension TrustRecord {
    /// The roster this record makes, every certificate checked; named `partnership` while the
    /// record names none (the server's first enrolment).
    func roster(naming partnership: String? = nil) -> Roster {
        var roster = Roster(partnership: self.partnership ?? partnership ?? "", pins: pins)
        roster.admit(certificates, pinning: .never)
        return roster
    }
}
