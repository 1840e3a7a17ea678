import Crypto
import Foundation

/// The unlocked store key for one shift, kept where a reboot erases it.
///
/// The file lives in the user's runtime directory (`$XDG_RUNTIME_DIR`, a memory file system,
/// or `/dev/shm` when that is unset), in a directory the user owns with mode 0700 (anything else
/// is refused: another local user could have made it first), written 0600 from the first byte.
/// It carries its own expiry: an expired file never opens anything, and is overwritten and
/// removed by the first command that meets it. It is never written into the store.
public struct ShiftSession: Sendable {
    public let directory: URL

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            directory = URL(fileURLWithPath: runtime).appendingPathComponent("fieldlog")
        } else if FileManager.default.fileExists(atPath: "/dev/shm") {
            directory = URL(fileURLWithPath: "/dev/shm/fieldlog-\(getuid())")
        } else {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-\(getuid())")
        }
    }

    func file(_ storeID: String) -> URL { directory.appendingPathComponent("\(storeID).session") }

    /// Makes sure the directory is this user's own and private: created 0700 if missing; refused
    /// if it is a link, someone else's, or cannot be restricted.
    func privateDirectory() throws {
        let path = directory.path
        let refused = { (why: String) in
            FieldlogError(.notPermitted, "the session directory \(path) \(why), so the unlocked key cannot be kept safe there",
                          hint: "remove it, or set XDG_RUNTIME_DIR to a directory only you can use")
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw refused("cannot be created") }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw refused("cannot be read") }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw refused("is not a directory") }
        guard info.st_uid == getuid() else { throw refused("belongs to another user") }
        if info.st_mode & 0o077 != 0 {
            guard chmod(path, 0o700) == 0, lstat(path, &info) == 0, info.st_mode & 0o077 == 0 else { throw refused("cannot be made private") }
        }
    }

    /// Keeps `masterKey` for `storeID` until `expiresAt` (milliseconds).
    public func save(storeID: String, masterKey: SymmetricKey, expiresAt: Int64) throws {
        try privateDirectory()
        let body: JSONValue = [
            "store": .string(storeID), "expires": .int(expiresAt),
            "key": .string(masterKey.withUnsafeBytes { Data($0).base64EncodedString() }),
        ]
        let url = file(storeID)
        let tmp = directory.appendingPathComponent(".\(storeID).\(Hex.random(bytes: 8)).tmp")
        // 0600 from the first byte; never through a link; never over an existing file.
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FieldlogError(.io, "cannot write the session file in \(directory.path)") }
        let bytes = [UInt8](body.canonicalData())
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(tmp.path, url.path) == 0 else {
            unlink(tmp.path)
            throw FieldlogError(.io, "cannot write the session file in \(directory.path)")
        }
    }

    /// The master key and its expiry, if the store is unlocked and the shift has not ended. A
    /// file that is not this user's private file, or has expired, opens nothing (an expired one
    /// is wiped).
    public func load(storeID: String, now: Int64 = WallClock.nowMillis()) -> (key: SymmetricKey, expiresAt: Int64)? {
        let path = file(storeID).path
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == getuid(), info.st_mode & 0o077 == 0,
              (try? privateDirectory()) != nil,
              let data = FileManager.default.contents(atPath: path),
              let json = try? JSONValue.parse(data), json["store"]?.stringValue == storeID,
              let expires = json["expires"]?.intValue,
              let key = json["key"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), key.count == 32
        else { return nil }
        guard expires > now else {
            remove(storeID: storeID)
            return nil
        }
        return (SymmetricKey(data: key), expires)
    }

    /// Ends the shift: overwrites the key file and removes it.
    @discardableResult
    public func remove(storeID: String) -> Bool {
        let path = file(storeID).path
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        if info.st_mode & S_IFMT == S_IFREG, info.st_uid == getuid() {
            let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 {
                let zeros = [UInt8](repeating: 0, count: Int(info.st_size))
                _ = zeros.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
        }
        return unlink(path) == 0
    }
}
