import Foundation

/// Free text about a person sealed under her own key (`Protocol/erasure.md` §6): an incident's
/// note, a safeguarding concern's action and reason, a register write's reason. The key travels
/// in a `person.key` grant; an erasure purges the grant on every replica, and from then on the
/// text cannot be read anywhere, though the counted event that carries it stays whole.
///
/// In a payload it is the object `{"keyId": …, "box": base64}` in place of the string; the box is
/// the person key's seal (ChaChaPoly) bound to the event type, the field and the person id.
public struct SealedText: Sendable, Equatable {
    public let keyID: String
    public let box: Data

    static let label = "fieldlog/person-text/v1"

    static func aad(type: EventType, field: String, person: String) -> Data {
        Data("\(label)|\(type.rawValue)|\(field)|\(person)".utf8)
    }

    init(keyID: String, box: Data) {
        self.keyID = keyID
        self.box = box
    }

    /// `text` sealed under `key` for `field` of a `type` event about `person`.
    public static func seal(_ text: String, key: ScopeKey, type: EventType, field: String, person: String) throws -> SealedText {
        SealedText(keyID: key.id, box: try key.seal(Data(text.utf8), aad: aad(type: type, field: field, person: person)))
    }

    /// The text, or nil when `key` is not its key or the box was altered.
    public func open(with key: ScopeKey, type: EventType, field: String, person: String) -> String? {
        guard key.id == keyID, let data = try? key.open(box, aad: SealedText.aad(type: type, field: field, person: person)) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    public var json: JSONValue { ["keyId": .string(keyID), "box": .string(box.base64EncodedString())] }

    /// Reads the payload form; nil for anything else (a plain string included).
    public init?(_ value: JSONValue?) {
        guard let object = value?.objectValue, object.count == 2, let id = object["keyId"]?.stringValue, id.count == 16,
            let box = object["box"]?.stringValue.flatMap({ Data(base64Encoded: $0) })
        else { return nil }
        self.init(keyID: id, box: box)
    }
}
