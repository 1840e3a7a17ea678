import Crypto
import Foundation
import OutreachCore

/// The benchmarks' partnership: one organisation's keys and a root that certifies every store's
/// device key, so stores accept each other's signed events as real laptops do.
final class BenchPartnership: @unchecked Sendable {
    let partnershipKey = ScopeKey.generate()
    let orgKey = ScopeKey.generate()
    let rootKey = DeviceKey.generate()
    let root: DeviceCertificate
    private let lock = NSLock()
    private var keyrings = [ReplicaID: Keyring]()

    init() {
        root = try! DeviceCertificate.root(partnership: "bench", org: "basis", device: "root", replica: .random(), key: rootKey, issuedAt: 0)
    }

    /// A keyring for a micro-benchmark (its device key is certified nowhere).
    var someKeyring: Keyring { Keyring(partnershipID: "bench", org: "basis", orgKey: orgKey, partnershipKey: partnershipKey, deviceKey: .generate()) }

    /// A new store whose device key the root certified.
    func create(_ directory: URL, device: String, passphrase: String) throws -> (Store, Keyring, SymmetricKey) {
        let keyring = Keyring(partnershipID: "bench", org: "basis", orgKey: orgKey, partnershipKey: partnershipKey, deviceKey: .generate())
        var roster = Roster(partnership: "bench")
        roster.admit([root], pinning: .firstSight)
        let setup = try DeviceSetup.certified(keyring: keyring, device: device, replica: .random(), roster: roster, issuer: rootKey, now: 0)
        let (store, master) = try Store.create(at: directory, device: device, setup: setup, passphrase: passphrase)
        lock.withLock { keyrings[store.info.replica] = keyring }
        return (store, keyring, master)
    }

    func keyring(for store: Store) -> Keyring { lock.withLock { keyrings[store.info.replica]! } }
}
