import Crypto
import Foundation
import GRDB
import Testing
@testable import OutreachCore

/// Passphrases (issue #11, item 4). Old code: PBKDF2 only (no memory cost), 8 characters
/// accepted, and no way to change a passphrase or the master key behind it.
@Suite struct PassphraseTests {
    @Test func newPassphrasesNeedTwelveCharactersOrFourWords() throws {
        for weak in ["password", "short pass", "abc def ghi"] {
            #expect(throws: FieldlogError.self, "\(weak)") { try PassphrasePolicy.check(weak) }
        }
        for fine in ["correct horse battery staple", "a twelve char", "red van cold hands"] {
            try PassphrasePolicy.check(fine)
        }
    }

    @Test func aWrapFromBeforeScryptOpensAndIsMadeAgainWithScrypt() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        // Given the master key wrapped as fieldlog 0.1 did (PBKDF2)
        let kdf = PassphraseKDF(salt: Data(repeating: 7, count: 32), algorithm: .pbkdf2, cost: 600_000)
        let box = try ChaChaPoly.seal(TestKeys.masterKey.withUnsafeBytes { Data($0) }, using: try kdf.deriveKey("old style passphrase"),
                                      authenticating: PassphraseSealed.aad).combined
        let old = PassphraseSealed(kdf: kdf, box: box)
        let raw = try DatabaseQueue(path: dir.sub("s").appendingPathComponent(Store.fileName).path)
        try raw.write { try $0.execute(sql: "UPDATE meta SET value = ? WHERE key = 'masterKey'", arguments: [old.json.canonicalString()]) }
        // Then it opens, is outdated, and once rewrapped opens the same key with scrypt
        let master = try log.store.masterKey(passphrase: "old style passphrase")
        #expect(try log.store.masterKeyWrapIsOutdated())
        try log.store.rewrapMasterKey(master, passphrase: "old style passphrase")
        #expect(try !log.store.masterKeyWrapIsOutdated())
        let text = try raw.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'masterKey'") } ?? ""
        #expect(text.contains("\"alg\":\"scrypt\"") && text.contains("\"n\":32768"))
        _ = try log.store.keyring(masterKey: try log.store.masterKey(passphrase: "old style passphrase"))
    }

    @Test func changingThePassphraseChangesTheMasterKeyToo() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        let before = try log.store.keyring(masterKey: TestKeys.masterKey)
        let master = try log.store.changePassphrase(from: TestKeys.passphrase, to: "four new cold words")
        // The old passphrase and the old unlocked key open nothing; the new ones open the same keys.
        #expect(throws: FieldlogError.self) { try log.store.masterKey(passphrase: TestKeys.passphrase) }
        #expect(throws: FieldlogError.self) { try log.store.keyring(masterKey: TestKeys.masterKey) }
        let after = try log.store.keyring(masterKey: try log.store.masterKey(passphrase: "four new cold words"))
        #expect(after.orgKey.id == before.orgKey.id && after.deviceKey.fingerprint == before.deviceKey.fingerprint)
        _ = try log.store.keyring(masterKey: master)
    }
}
