import Crypto
import Foundation

/// An invite: what a new laptop needs to join, sealed under a one-time passphrase shown on screen.
///
/// `FIELDLOG-INVITE 1\n` then a JSON object with the key derivation parameters and the sealed box.
/// An invite for the inviter's own organisation carries both keys; one for another organisation
/// carries only the partnership key (the new organisation makes its own key).
public struct Invite: Sendable {
    public static let magic = Data("FIELDLOG-INVITE 1\n".utf8)

    public let partnershipID: String
    public let org: String
    public let device: String
    public let orgKey: ScopeKey?
    public let partnershipKey: ScopeKey
    public let invitedBy: String
    public let server: String?
    public let token: String?

    public init(partnershipID: String, org: String, device: String, orgKey: ScopeKey?, partnershipKey: ScopeKey, invitedBy: String, server: String? = nil, token: String? = nil) {
        self.partnershipID = partnershipID
        self.org = org
        self.device = device
        self.orgKey = orgKey
        self.partnershipKey = partnershipKey
        self.invitedBy = invitedBy
        self.server = server
        self.token = token
    }

    /// A fresh one-time passphrase: 20 characters from an alphabet without look-alikes (about 100 bits).
    public static func generatePassphrase() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var rng = SystemRandomNumberGenerator()
        let chars = (0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
        return stride(from: 0, to: 20, by: 5).map { String(chars[$0..<$0 + 5]) }.joined(separator: "-")
    }

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "partnership": .string(partnershipID), "org": .string(org), "device": .string(device),
            "partnershipKey": .string(partnershipKey.base64), "invitedBy": .string(invitedBy),
        ]
        o["orgKey"] = orgKey.map { .string($0.base64) }
        o["server"] = server.map { .string($0) }
        o["token"] = token.map { .string($0) }
        return .object(o)
    }

    public func sealed(passphrase: String) throws -> Data {
        let box = try PassphraseSealed.seal(json.canonicalData(), passphrase: passphrase)
        return Invite.magic + box.json.canonicalData()
    }

    public static func open(_ data: Data, passphrase: String) throws -> Invite {
        guard data.starts(with: magic), let json = try? JSONValue.parse(data.dropFirst(magic.count)),
            let sealed = try? PassphraseSealed(json: json)
        else { throw FieldlogError(.malformed, "this file is not a fieldlog invite", hint: "use the file that fieldlog device invite wrote") }
        let plain: Data
        do { plain = try sealed.open(passphrase: passphrase) } catch {
            throw FieldlogError(.wrongPassphrase, "wrong invite passphrase", hint: "type the one-time passphrase shown when the invite was made")
        }
        guard let o = try? JSONValue.parse(plain), let p = o["partnership"]?.stringValue, let org = o["org"]?.stringValue,
            let device = o["device"]?.stringValue, let pk = o["partnershipKey"]?.stringValue.flatMap(ScopeKey.init(base64:)),
            let by = o["invitedBy"]?.stringValue
        else { throw FieldlogError(.malformed, "the invite is incomplete") }
        return Invite(partnershipID: p, org: org, device: device, orgKey: o["orgKey"]?.stringValue.flatMap(ScopeKey.init(base64:)),
                      partnershipKey: pk, invitedBy: by, server: o["server"]?.stringValue, token: o["token"]?.stringValue)
    }
}
