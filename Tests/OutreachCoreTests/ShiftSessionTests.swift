import Crypto
import Foundation
import Testing
@testable import OutreachCore

/// The unlocked key on a shared machine (issue #11, item 3). Old code: `createDirectory` then an
/// unchecked `chmod` (a directory another user made first was used as it was), the key file
/// created and only then restricted, and an expired file read until some command removed it.
@Suite struct ShiftSessionTests {
    let key = SymmetricKey(size: .bits256)

    func session(_ dir: TempDir) -> ShiftSession { ShiftSession(environment: ["XDG_RUNTIME_DIR": dir.url.path]) }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        _ = lstat(path, &info)
        return info.st_mode & 0o777
    }

    @Test func theKeyIsWrittenPrivateInAPrivateDirectory() throws {
        let dir = TempDir()
        let s = session(dir)
        // A directory of ours left open to everyone is closed first.
        try FileManager.default.createDirectory(at: s.directory, withIntermediateDirectories: true)
        chmod(s.directory.path, 0o777)
        try s.save(storeID: "st", masterKey: key, expiresAt: t0 + 1000)
        #expect(mode(s.directory.path) == 0o700 && mode(s.file("st").path) == 0o600)
        #expect(s.load(storeID: "st", now: t0)?.key == key)
    }

    @Test func aDirectoryThatIsALinkOrSomeoneElsesIsRefused() throws {
        let dir = TempDir()
        let s = session(dir)
        // A link planted where the directory should be.
        let elsewhere = dir.sub("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: s.directory, withDestinationURL: elsewhere)
        #expect(throws: FieldlogError.self) { try s.save(storeID: "st", masterKey: key, expiresAt: t0 + 1000) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
        try FileManager.default.removeItem(at: s.directory)
        // Another user's directory (the tests run as root in CI, which can make one).
        try FileManager.default.createDirectory(at: s.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        if getuid() == 0 {
            #expect(chown(s.directory.path, 65534, 65534) == 0)
            let error = try #require(throws: FieldlogError.self) { try s.save(storeID: "st", masterKey: key, expiresAt: t0 + 1000) }
            #expect(error.message.contains("belongs to another user"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: s.directory.path).isEmpty)
        }
    }

    @Test func aFileThatIsNotPrivateOrHasExpiredOpensNothing() throws {
        let dir = TempDir()
        let s = session(dir)
        try s.save(storeID: "st", masterKey: key, expiresAt: t0 + 1000)
        // Expired: nothing, and the file is gone.
        #expect(s.load(storeID: "st", now: t0 + 1000) == nil)
        #expect(!FileManager.default.fileExists(atPath: s.file("st").path))
        // A file readable by others (planted, or loosened) is not trusted.
        try s.save(storeID: "st", masterKey: key, expiresAt: t0 + 1000)
        chmod(s.file("st").path, 0o644)
        #expect(s.load(storeID: "st", now: t0) == nil)
        // Locking overwrites and removes it.
        chmod(s.file("st").path, 0o600)
        #expect(s.remove(storeID: "st") && !FileManager.default.fileExists(atPath: s.file("st").path))
    }
}
