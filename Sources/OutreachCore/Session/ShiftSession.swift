import Crypto
import Foundation

/// The unlocked store key for one shift, kept where a reboot erases it.
///
/// The file lives in the user's runtime directory (`$XDG_RUNTIME_DIR`, a memory file system,
/// or `/dev/shm` when that is unset), readable by the user alone, and carries its own expiry:
/// an expired file is treated as locked and removed. It is never written into the store.
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

    /// Keeps `masterKey` for `storeID` until `expiresAt` (milliseconds).
    public func save(storeID: String, masterKey: SymmetricKey, expiresAt: Int64) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(directory.path, 0o700)
        let body: JSONValue = [
            "store": .string(storeID), "expires": .int(expiresAt),
            "key": .string(masterKey.withUnsafeBytes { Data($0).base64EncodedString() }),
        ]
        let url = file(storeID)
        let tmp = directory.appendingPathComponent(".\(storeID).\(getpid()).tmp")
        guard FileManager.default.createFile(atPath: tmp.path, contents: body.canonicalData(), attributes: [.posixPermissions: 0o600]) else {
            throw FieldlogError(.io, "cannot write the session file in \(directory.path)")
        }
        guard rename(tmp.path, url.path) == 0 else { throw FieldlogError(.io, "cannot write the session file in \(directory.path)") }
    }

    /// The master key and its expiry, if the store is unlocked and the shift has not ended.
    public func load(storeID: String, now: Int64 = Clock.nowMillis()) -> (key: SymmetricKey, expiresAt: Int64)? {
        guard let data = FileManager.default.contents(atPath: file(storeID).path),
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

    /// Ends the shift: forgets the key.
    @discardableResult
    public func remove(storeID: String) -> Bool {
        (try? FileManager.default.removeItem(at: file(storeID))) != nil
    }
}
