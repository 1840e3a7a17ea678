import Crypto
import Foundation
import Testing
@testable import OutreachCore

/// A small, fast, seedable generator (SplitMix64) so property tests repeat exactly from a seed.
struct SeededRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Seeds for a property test: `FIELDLOG_SEED=n` replays one, otherwise `count` from 1.
func propertySeeds(_ count: Int) -> [UInt64] {
    if let s = ProcessInfo.processInfo.environment["FIELDLOG_SEED"].flatMap(UInt64.init) { return [s] }
    return (1...UInt64(count)).map { $0 }
}

/// A temporary directory removed when the test ends.
final class TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func sub(_ name: String) -> URL { url.appendingPathComponent(name) }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// One partnership's keys and one passphrase-wrapped master key, derived once per test process
/// (a 600k-round derivation is 0.3 s in a debug build).
enum TestKeys {
    static let passphrase = "correct horse battery staple"
    static let partnershipKey = ScopeKey.generate()
    static let partnershipID = "p-test"
    static let orgKeys = ["basis": ScopeKey.generate(), "joanna": ScopeKey.generate()]
    static let masterKey = SymmetricKey(size: .bits256)
    static let wrapped = try! PassphraseSealed.seal(masterKey.withUnsafeBytes { Data($0) }, passphrase: passphrase)

    /// Each organisation's root key: it certifies every test laptop of that organisation.
    static let rootKeys = ["basis": DeviceKey.generate(), "joanna": DeviceKey.generate()]
    static let roots = Dictionary(uniqueKeysWithValues: rootKeys.map { org, key in
        (org, try! DeviceCertificate.root(partnership: partnershipID, org: org, device: "\(org)-root", replica: .random(), key: key, issuedAt: t0))
    })

    /// The roster every test laptop starts with: both roots, pinned.
    static var roster: Roster {
        var r = Roster(partnership: partnershipID)
        r.admit(Array(roots.values), pinning: .firstSight)
        return r
    }

    /// A keyring of `org` with a fresh device key (certified nowhere: for reading and checking).
    static func keyring(_ org: String) -> Keyring {
        Keyring(partnershipID: partnershipID, org: org, orgKey: orgKeys[org]!, partnershipKey: partnershipKey, deviceKey: .generate())
    }

    /// A new store of `org` in `dir`, its device certified by the organisation's root, unlocked.
    static func log(_ org: String, device: String, in dir: URL, replica: ReplicaID = .random()) throws -> FieldLog {
        let keyring = keyring(org)
        let setup = try DeviceSetup.certified(keyring: keyring, device: device, replica: replica, roster: roster, issuer: rootKeys[org]!, now: t0)
        let store = try Store.create(at: dir, device: device, setup: setup, masterKey: masterKey, wrapped: wrapped)
        return FieldLog(store: store, keyring: keyring, author: device)
    }
}

extension FieldLog {
    /// Sends everything `other` lacks from this log to `other`, as a bundle file would.
    @discardableResult
    func send(to other: FieldLog) throws -> ImportOutcome {
        let bundle = try EventBundle.make(from: store, keyring: keyring, since: try other.store.vector(), targetOrg: other.keyring.org)
        let decoded = try EventBundle.decode(try bundle.encoded(keyring: keyring), keyring: other.keyring)
        return try decoded.importInto(other.store, keyring: other.keyring)
    }

    var eventIDs: Set<EventID> { Set(try! store.allEvents().map(\.id)) }
}

/// The repository root, for reading `Protocol/vectors`.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

let t0: Int64 = 1_763_000_000_000  // 2025-11-13, a fixed "now" for tests

/// A count several threads (or tasks) add to.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    /// Adds one; the count after it.
    func next() -> Int { lock.withLock { n += 1; return n } }
    var value: Int { lock.withLock { n } }
}
