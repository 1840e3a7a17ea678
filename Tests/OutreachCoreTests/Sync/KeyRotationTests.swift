import Foundation
import Testing
@testable import OutreachCore
import SyncServerKit

/// Keys that rotate (`Protocol/trust.md` §5b): a revocation moves the organisation's and the
/// partnership's keys to a new epoch, sealed to each remaining device; the revoked laptop, with
/// its passphrase, reads nothing written after; everyone else reads old and new.
@Suite struct KeyRotationTests {
    /// A laptop that syncs the way `fieldlog sync` does (announce, sync, key upkeep, sync again)
    /// and keeps the keys it is given.
    final class Member: @unchecked Sendable {
        var log: FieldLog
        let bearer: String
        init(_ laptop: Laptop) { log = laptop.log; bearer = laptop.bearer }
        var name: String { log.store.info.device }

        @discardableResult
        func sync(_ service: SyncService) async throws -> FieldLog.SyncResult {
            let result = try await log.sync(over: InProcessTransport(service: service, bearer: bearer))
            log = result.log
            return result
        }
    }

    struct World {
        let dir = TempDir()
        let service: SyncService
        let b1: Member, thief: Member, j1: Member, j2: Member
        var all: [Member] { [b1, thief, j1, j2] }

        init() async throws {
            service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
            let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service).map(Member.init)
            (b1, thief, j1, j2) = (laptops[0], laptops[1], laptops[2], laptops[3])
            for _ in 0..<2 { for m in all { try await m.sync(service) } }
        }
    }

    @Test func aRevocationRotatesKeysAndTheThiefReadsNothingWrittenAfter() async throws {
        let w = try await World()
        let oldPartnership = w.b1.log.keyring.partnershipKey.id
        let oldOrg = w.b1.log.keyring.orgKey.id
        let rose = try w.b1.log.registerPerson(name: "Rose", at: t0).person
        var visit = NewContact(person: rose, setting: .van)
        visit.note = "before: sleeping at the arches"
        let before = try w.b1.log.logContact(visit, at: t0 + 1)
        for m in w.all { try await m.sync(w.service) }
        #expect(try w.thief.log.state().contacts[before.contact.id] != nil)

        // Stolen: revoked on the server and from b1, which rotates both keys in the same act.
        let device = try await w.service.authenticate(bearer: w.thief.bearer)
        #expect(try await w.service.storage.revoke(deviceID: device.id, at: t0))
        let revoked = try w.b1.log.revokeDevice(named: "b2", reason: "stolen", at: t0 + 2)
        #expect(revoked.keys.rotated == [.org: 1, .partnership: 1])
        w.b1.log = try w.b1.log.reloaded()
        #expect(w.b1.log.keyring.partnershipKey.id != oldPartnership && w.b1.log.keyring.orgKey.id != oldOrg)
        #expect(w.b1.log.keyring.partnershipKeys.count == 2 && w.b1.log.keyring.key(id: oldPartnership) != nil, "old keys stay for reading")

        // b1 syncs; the others get the new partnership key without a passphrase or an invite.
        try await w.b1.sync(w.service)
        for m in [w.j1, w.j2] {
            let r = try await m.sync(w.service)
            #expect(r.summary.keysGained == 1, "\(m.name) is given the partnership's new key")
            #expect(m.log.keyring.partnershipKey.id == w.b1.log.keyring.partnershipKey.id)
            #expect(m.log.keyring.orgKey.id == m.log.keyring.orgKeys[0].key.id, "Joanna's own key did not move")
        }

        // Written after: sealed under the new keys.
        visit.note = "after: moved to the canal"
        let after = try w.b1.log.logContact(visit, at: t0 + 3)
        #expect(after.contact.keyID == w.b1.log.keyring.partnershipKey.id && after.note?.keyID == w.b1.log.keyring.orgKey.id)
        for m in [w.b1, w.j1, w.j2] { try await m.sync(w.service) }

        // Everyone left reads old and new.
        for m in [w.b1, w.j1, w.j2] {
            let state = try m.log.state()
            #expect(state.contacts[before.contact.id] != nil && state.contacts[after.contact.id] != nil, "\(m.name) reads both epochs")
        }
        #expect(try w.b1.log.state().contacts[after.contact.id]?.notes == ["after: moved to the canal"])

        // The thief, with its passphrase and every key it ever had: no sync, no bundle written
        // after, no event written after.
        await #expect(throws: (any Error).self) { try await w.thief.sync(w.service) }
        let bundle = try EventBundle.make(from: w.j1.log.store, keyring: w.j1.log.keyring).encoded(keyring: w.j1.log.keyring)
        #expect(throws: FieldlogError.self) { _ = try EventBundle.decode(bundle, keyring: w.thief.log.keyring) }
        #expect(w.thief.log.keyring.open(after.contact) == nil && w.thief.log.keyring.open(after.note!) == nil)
        let held = try w.j1.log.store.allEvents()
        let outcome = try w.thief.log.store.importEvents(held, certificates: try w.j1.log.store.roster().certificates,
                                                         from: .carried("leaked"), keyring: w.thief.log.keyring)
        #expect(outcome.keysGained == 0 && outcome.keyring == nil)
        #expect(try w.thief.log.state().contacts[after.contact.id] == nil, "the grant events it now holds give it nothing")
        // The grants in the log name every remaining device and never the thief.
        let notices = try w.b1.log.state().keys.notices.values.filter(\.isRotation)
        #expect(notices.count == 2 && notices.allSatisfy { !$0.recipients.contains(w.thief.log.store.info.replica) })
        #expect(notices.first { $0.scope == .partnership }?.recipients == Set([w.b1, w.j1, w.j2].map { $0.log.store.info.replica }))
    }

    @Test func aLaptopThatAnnouncesAfterTheRotationIsGivenTheKeyAtTheNextSync() async throws {
        let w = try await World()
        // j3 joins late: created and enrolled after the rotation, from a keyring of epoch 0 only
        // (as a laptop restored from an old invite would be), and announces at its first sync.
        _ = try w.b1.log.revokeDevice(named: "b2", reason: "lost", at: t0)
        w.b1.log = try w.b1.log.reloaded()
        try await w.b1.sync(w.service)
        let j3log = try TestKeys.log("joanna", device: "j3", in: w.dir.sub("j3"))
        let token = try await w.service.issueEnrolment(org: "joanna", lifetime: 3_600_000)
        let (_, bearer) = try await w.service.enrol(token: token, device: "j3", replica: j3log.store.info.replica,
                                                    certificates: try j3log.store.roster().certificates)
        let j3 = Member(Laptop(log: j3log, bearer: bearer))
        let first = try await j3.sync(w.service)
        #expect(first.keys.waiting == [.partnership], "it sees a newer partnership key it lacks")
        // Another laptop holding the key grants it at its next sync; j3 then reads what b1 writes.
        let granter = try await w.j1.sync(w.service)
        #expect(granter.keys.granted == 1)
        let after = try w.b1.log.logContact(NewContact(person: nil, unidentified: 2, setting: .van), at: t0 + 5)
        try await w.b1.sync(w.service)
        let second = try await j3.sync(w.service)
        #expect(second.summary.keysGained == 1 && second.keys.waiting.isEmpty)
        #expect(try j3.log.state().contacts[after.contact.id] != nil)
        // Nobody grants it twice.
        #expect(try await w.j2.sync(w.service).keys.granted == 0)
    }

    @Test func eventsUnderAKeyNotYetGivenWaitAndAreTakenWhenItArrives() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let b2 = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for log in [b1, b2, j1] { try log.store.admit(try [b1, b2, j1].flatMap { try $0.store.roster().certificates }) }
        for log in [b1, j1] { try log.announceKeys(at: t0) }
        try j1.send(to: b1)
        let rotated = try b1.rotateKeys(reason: "test", at: t0 + 1)
        #expect(rotated.rotated == [.org: 1, .partnership: 1])
        let b1now = try b1.reloaded()
        let contact = try b1now.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: t0 + 2).contact
        // The contact reaches j1 before the grant: it waits, set aside as unknown-key.
        let early = try j1.store.importEvents([contact], certificates: try b1.store.roster().certificates, from: .carried("stick"), keyring: j1.keyring)
        #expect(early.setAside == [.unknownKey: 1])
        // Then the whole bundle, grant included: the key arrives and the contact is taken.
        let later = try b1now.send(to: j1)
        #expect(later.keysGained == 1 && later.recovered == 1 && later.keyring != nil)
        #expect(try j1.reloaded().state().contacts[contact.id] != nil)
        #expect(try j1.store.setAsideCount() == 0)
        // b2 never announced: it was given nothing, and a bundle written under the new key does
        // not open for it, as for a revoked laptop.
        #expect(throws: FieldlogError.self) { try b1now.send(to: b2) }
        // Offline, by stick: b2's bundle to b1 announces it; b1 grants it the keys on import;
        // b1's next bundle carries the grant, so it opens, and its events are read.
        try b2.announceKeys(at: t0 + 3)
        try b2.send(to: b1now)
        #expect(try b1now.upkeepKeys(at: t0 + 4).granted == 2, "basis's key and the partnership's")
        let b1later = try b1now.reloaded()
        let given = try b1later.send(to: b2)
        #expect(given.keysGained == 2)
        let b2now = try b2.reloaded()
        #expect(b2now.keyring.partnershipKey.id == b1later.keyring.partnershipKey.id && b2now.keyring.orgKey.id == b1later.keyring.orgKey.id)
        #expect(try b2now.state().contacts[contact.id] != nil)
        #expect(try b2now.keyPlan().waiting.isEmpty)
    }

    @Test func aLaptopInvitedAfterARotationReadsEveryEpochAndWritesUnderTheNewest() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        try b1.announceKeys(at: t0)
        let old = try b1.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: t0 + 1).contact
        _ = try b1.rotateKeys(reason: "test", at: t0 + 2)
        let b1now = try b1.reloaded()
        let new = try b1now.logContact(NewContact(person: nil, unidentified: 2, setting: .van), at: t0 + 3).contact
        #expect(old.keyID != new.keyID)
        // The invite is sealed to the new laptop by passphrase and carries every epoch.
        let invite = try Invite.open(try Invite.make(from: b1now, roster: try b1now.store.roster(), device: "b3", now: t0 + 4)
            .sealed(passphrase: "one-time passphrase for b3"), passphrase: "one-time passphrase for b3")
        let setup = try invite.setup(now: t0 + 4)
        #expect(setup.keyring.partnershipKeys.map(\.epoch) == [0, 1] && setup.keyring.orgKeys.map(\.epoch) == [0, 1])
        let b3 = FieldLog(store: try Store.create(at: dir.sub("b3"), device: "b3", setup: setup, masterKey: TestKeys.masterKey, wrapped: TestKeys.wrapped),
                          keyring: setup.keyring, author: "b3")
        try b1now.send(to: b3)
        let state = try b3.state()
        #expect(state.contacts[old.id] != nil && state.contacts[new.id] != nil && state.unreadable == 0)
        #expect(try b3.logContact(NewContact(person: nil, unidentified: 1, setting: .foot), at: t0 + 5).contact.keyID == new.keyID)
        #expect(try b3.keyPlan().steps.isEmpty, "it holds every key; nobody needs a grant from it")
        // A code hashes alike before and after the rotation (partnership codes match across epochs).
        #expect(b3.keyring.codeKey.id == b1.keyring.partnershipKey.id)
    }

    @Test func whatA03LaptopSetAsideAsWrongKeyIsTakenOnceItIsGivenTheKey() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for log in [b1, j1] { try log.store.admit(try [b1, j1].flatMap { try $0.store.roster().certificates }) }
        for log in [b1, j1] { try log.announceKeys(at: t0) }
        try j1.send(to: b1)
        _ = try b1.rotateKeys(reason: "test", at: t0 + 1)
        let b1now = try b1.reloaded()
        let contact = try b1now.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: t0 + 2).contact
        // 0.3 had no unknown-key rule: it set such an event aside as wrong-key (the row as 0.3 wrote it).
        try j1.store.db.write { db in
            try db.execute(sql: "INSERT INTO set_aside(id, origin, seq, org, scope, rule, event, source, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                           arguments: [contact.id.hex, contact.dot.replica.rawValue, Int64(contact.dot.seq), contact.org, contact.scope.rawValue,
                                       "wrong-key", contact.json.canonicalString(), "sync", t0])
        }
        // The grant arrives without the contact (the server had advanced past it): it is taken from the set-aside rows.
        let grants = try b1now.store.allEvents().filter { $0.id != contact.id }
        let outcome = try j1.store.importEvents(grants, certificates: try b1.store.roster().certificates, from: .carried("sync"), keyring: j1.keyring)
        #expect(outcome.keysGained == 1 && outcome.recovered == 1)
        #expect(try j1.reloaded().state().contacts[contact.id] != nil && j1.store.setAsideCount() == 0)
    }

    @Test func aForgedOrMisdirectedGrantGivesNothing() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for log in [b1, j1] { try log.store.admit(try [b1, j1].flatMap { try $0.store.roster().certificates }) }
        // A grant whose box holds another key than the one it names; one sealed to another device.
        let real = ScopeKey.generate(), other = ScopeKey.generate()
        let label = KeyGrant.Label(partnership: TestKeys.partnershipID, scope: .partnership, org: "", epoch: 1, keyID: real.id)
        let lying = try KeyGrant.seal(other, label: label, to: j1.store.info.replica, agreementKey: j1.keyring.deviceKey.agreementKey)
        #expect(lying.open(label: label, with: j1.keyring.deviceKey) == nil)
        let misdirected = try KeyGrant.seal(real, label: label, to: j1.store.info.replica, agreementKey: b1.keyring.deviceKey.agreementKey)
        #expect(misdirected.open(label: label, with: j1.keyring.deviceKey) == nil)
        // Moved to another epoch or scope, a genuine box no longer opens.
        let genuine = try KeyGrant.seal(real, label: label, to: j1.store.info.replica, agreementKey: j1.keyring.deviceKey.agreementKey)
        #expect(genuine.open(label: label, with: j1.keyring.deviceKey)?.id == real.id)
        let moved = KeyGrant.Label(partnership: label.partnership, scope: .partnership, org: "", epoch: 7, keyID: real.id)
        #expect(genuine.open(label: moved, with: j1.keyring.deviceKey) == nil)
        // Written into the log by b1, the lying grant is stored (it is signed and well formed) but gives no key.
        let fields: [String: JSONValue] = ["scope": "partnership", "epoch": 1, "keyId": .string(real.id), "grants": .array([lying.json])]
        try b1.store.append([Draft(.partnership, Payload(type: .keyRotated, occurredAt: t0, author: "b1", fields: fields))], keyring: b1.keyring)
        let outcome = try b1.send(to: j1)
        #expect(outcome.stored == 1 && outcome.keysGained == 0 && outcome.keyring == nil)
    }

    @Test func aRotationTheRevokedLaptopMayHaveSeenIsRotatedAgain() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let b2 = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for log in [b1, b2, j1] { try log.store.admit(try [b1, b2, j1].flatMap { try $0.store.roster().certificates }) }
        for log in [b1, b2, j1] { try log.announceKeys(at: t0) }
        for (a, b) in [(b1, j1), (b2, j1), (j1, b1), (j1, b2)] { try a.send(to: b) }
        // j1 rotates on demand, twice, not knowing that b1 is revoking b2 at the same time: its
        // key (epoch 2) outranks b1's (epoch 1), and b2 was among its recipients.
        _ = try j1.rotateKeys(reason: "routine", at: t0 + 1)
        _ = try j1.reloaded().rotateKeys(reason: "routine again", at: t0 + 1)
        _ = try b1.revokeDevice(named: "b2", reason: "stolen", at: t0 + 1)
        try j1.reloaded().send(to: b1)
        try b1.reloaded().send(to: j1.reloaded())
        let j1now = try j1.reloaded(), b1now = try b1.reloaded()
        #expect(j1now.keyring.partnershipKey.id == b1now.keyring.partnershipKey.id, "both write under the same key")
        #expect(b1now.keyring.epoch(of: .partnership) == 2)
        let b2replica = b2.store.info.replica
        #expect(try b1now.state().keys.notices.values.contains { $0.epoch == 2 && $0.recipients.contains(b2replica) })
        // The revocation is not in that rotation's past: the partnership key rotates again, without b2.
        #expect(try b1now.keyPlan().steps.map(\.scope) == [.partnership])
        let again = try b1now.upkeepKeys(at: t0 + 2)
        #expect(again.rotated == [.partnership: 3])
        let b1later = try b1now.reloaded()
        #expect(try b1later.keyPlan().steps.isEmpty)
        #expect(try b1later.state().keys.notices.values.first { $0.epoch == 3 }?.recipients == Set([b1, j1].map(\.store.info.replica)))
        // Basis's own key was rotated with the revocation and is not stale.
        #expect(b1later.keyring.epoch(of: .org) == 1)
    }
}
