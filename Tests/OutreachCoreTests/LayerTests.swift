import Foundation
import Testing
@testable import OutreachCore

/// The layers of `Protocol/fold.md` §1: the store moves bytes and knows no key; the sealer fills
/// the slot the store fixes, and the store takes nothing else.
@Suite struct LayerTests {
    /// No file of the store names a key, a keyring, the sealer or a cipher (checked on the source,
    /// so an upward arrow fails here before review).
    @Test func theStoreKnowsNoKey() throws {
        let folder = repositoryRoot.appendingPathComponent("Sources/OutreachCore/Store")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 8)
        let forbidden = ["import Crypto", "Keyring", "SymmetricKey", "ChaChaPoly", "DeviceKey", "ScopeKey", "EpochKey", "Sealer", "masterKey"]
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for word in forbidden { #expect(!text.contains(word), "Store/\(file) names \(word)") }
        }
    }

    /// A sealer that hands back events for another place than the one the store fixed (a later
    /// seq, an older context, a broken chain, another organisation) stores nothing.
    @Test func theStoreTakesOnlyEventsThatFillItsSlot() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        try log.registerPerson(name: "Rose", at: t0)
        let sealer = Sealer(log.keyring)
        let draft = Draft(Payload(type: .contactNote, occurredAt: t0, author: "w", fields: ["text": "x"]))
        let cheats: [(String, (EventSlot) -> EventSlot)] = [
            ("a seq further on", { EventSlot(replica: $0.replica, org: $0.org, held: $0.held.with($0.replica, $0.base + 1), prev: $0.prev) }),
            ("no event before", { EventSlot(replica: $0.replica, org: $0.org, held: $0.held, prev: nil) }),
            ("a context that claims what it never saw", { EventSlot(replica: $0.replica, org: $0.org, held: $0.held.with(ReplicaID(String(repeating: "ab", count: 8))!, 5), prev: $0.prev) }),
            ("another organisation", { EventSlot(replica: $0.replica, org: "joanna", held: $0.held, prev: $0.prev) }),
        ]
        for (name, cheat) in cheats {
            let before = try log.store.eventCount()
            #expect(throws: FieldlogError.self, "\(name)") {
                try log.store.append { slot in
                    var forged = Sealer(Keyring(partnershipID: log.keyring.partnershipID, org: cheat(slot).org, orgKey: log.keyring.orgKey,
                                                partnershipKey: log.keyring.partnershipKey, deviceKey: log.keyring.deviceKey))
                    if cheat(slot).org == slot.org { forged = sealer }
                    return SealedAppend(events: try forged.seal([draft], into: cheat(slot), recordedAt: t0))
                }
            }
            #expect(try log.store.eventCount() == before, "\(name)")
        }
        // The honest sealer's events fill it, and the store stays healthy.
        try log.store.append { SealedAppend(events: try sealer.seal([draft], into: $0, recordedAt: t0)) }
        #expect(try log.store.eventCount() == 2)
        #expect(try log.store.check(keyring: log.keyring).isHealthy)
    }
}

private extension VersionVector {
    func with(_ replica: ReplicaID, _ seq: UInt64) -> VersionVector {
        var v = self
        v[replica] = seq
        return v
    }
}
