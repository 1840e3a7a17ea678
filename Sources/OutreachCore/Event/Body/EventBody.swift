import Foundation

/// The typed fields of one event type (`Protocol/events.md`): what a payload of that type says,
/// read once, with the defaults the fold has always given a missing field.
///
/// A body is how the writers build a payload and how the fold, the erasure planner and the
/// checks read one; key names and JSON kinds meet Swift types here and nowhere else. Reading
/// keeps nothing but the body's own fields: the payload itself still carries every member it
/// was given (a newer version's fields survive in the log and on the wire, DESIGN §4).
public protocol EventBody: Sendable, Equatable {
    /// The event type this body is the content of; its scope follows (`EventType.scope`).
    static var type: EventType { get }
    /// Reads a payload's fields; nil when a field the type cannot do without is missing or of
    /// the wrong kind (the fold then leaves the event out, and keeps it in the log).
    init?(_ fields: PayloadFields)
    /// The fields to write (absent optionals are left out, never written as null).
    var fields: [String: JSONValue] { get }
}

extension EventBody {
    /// Reads `payload` as this type's body; nil when it is another type's or malformed.
    public init?(_ payload: Payload) {
        guard payload.type == Self.type.rawValue else { return nil }
        self.init(PayloadFields(payload.fields))
    }
}

extension Payload {
    /// A payload of `body`'s type, written by `author` about something that happened `at`.
    public init<B: EventBody>(_ body: B, at: Int64, author: String) {
        self.init(type: B.type, occurredAt: at, author: author, fields: body.fields)
    }
}

/// A payload's fields read by key: the one place a member's name and JSON kind become a value.
/// Every reader is lenient in the way the fold has always been: a member of the wrong kind
/// reads as missing.
public struct PayloadFields: Sendable {
    public let raw: [String: JSONValue]

    public init(_ raw: [String: JSONValue]) { self.raw = raw }

    public subscript(key: String) -> JSONValue? { raw[key] }
    public func string(_ key: String) -> String? { raw[key]?.stringValue }
    public func int(_ key: String) -> Int64? { raw[key]?.intValue }
    public func bool(_ key: String) -> Bool? { raw[key]?.boolValue }
    public func eventID(_ key: String) -> EventID? { string(key).flatMap { EventID(hex: $0) } }
    /// A consent level; missing or unknown reads as L0 (record only: the safest).
    public func consentLevel(_ key: String) -> ConsentLevel { string(key).flatMap(ConsentLevel.init(rawValue:)) ?? .l0 }
    /// An array's strings, in the order written (members of other kinds left out).
    public func strings(_ key: String) -> [String] { (raw[key]?.arrayValue ?? []).compactMap(\.stringValue) }
    /// A vocabulary word (`fallback` when missing).
    public func word<V: Vocabulary>(_ key: String, or fallback: Word<V>) -> Word<V> { string(key).map { Word($0) } ?? fallback }
    /// A vocabulary word, or nil when missing.
    public func word<V: Vocabulary>(_ key: String) -> Word<V>? { string(key).map { Word($0) } }
    /// A list of vocabulary words, in the order written.
    public func words<V: Vocabulary>(_ key: String) -> [Word<V>] { strings(key).map { Word($0) } }
    /// Counts by vocabulary word (an object of integers; other members left out).
    public func counts<V: Vocabulary>(_ key: String) -> [Word<V>: Int] {
        var out = [Word<V>: Int]()
        for (word, n) in raw[key]?.objectValue ?? [:] { if let n = n.intValue { out[Word(word)] = Int(n) } }
        return out
    }
    /// Free text about a person: in clear, or sealed to her (`PersonText`).
    public func personText(_ key: String) -> PersonText? { PersonText(raw[key]) }
    /// 32 bytes written as base64 (a key), or nil.
    public func key32(_ key: String) -> Data? { string(key).flatMap { Data(base64Encoded: $0) }.flatMap { $0.count == 32 ? $0 : nil } }
}

/// Free text about a person as a payload holds it: in clear (written before her organisation
/// held her key, or about someone it did not register), or sealed to her key (`SealedText`,
/// `Protocol/erasure.md` §6).
public enum PersonText: Sendable, Equatable {
    case clear(String)
    case sealed(SealedText)

    /// Reads the payload form: a string, or the sealed object; nil for anything else.
    public init?(_ value: JSONValue?) {
        if let text = value?.stringValue { self = .clear(text) } else if let sealed = SealedText(value) { self = .sealed(sealed) } else { return nil }
    }

    public var json: JSONValue {
        switch self {
        case .clear(let text): .string(text)
        case .sealed(let sealed): sealed.json
        }
    }

    /// The text when it is in clear.
    public var clear: String? { if case .clear(let text) = self { text } else { nil } }
    /// The box when it is sealed.
    public var sealed: SealedText? { if case .sealed(let box) = self { box } else { nil } }
}

/// Building a body's fields: optionals left out, vocabulary words as written.
struct FieldsWriter {
    private(set) var fields: [String: JSONValue] = [:]

    subscript(key: String) -> JSONValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }
    mutating func set(_ key: String, _ value: String?) { fields[key] = value.map { .string($0) } }
    mutating func set(_ key: String, _ value: Int64?) { fields[key] = value.map { .int($0) } }
    mutating func set(_ key: String, _ value: Bool?) { fields[key] = value.map { .bool($0) } }
    mutating func set(_ key: String, _ value: EventID?) { fields[key] = value.map { .string($0.hex) } }
    mutating func set<V>(_ key: String, _ value: Word<V>?) { fields[key] = value.map { .string($0.rawValue) } }
    mutating func set(_ key: String, _ value: PersonText?) { fields[key] = value?.json }
    mutating func set(_ key: String, strings: [String]) { fields[key] = .array(strings.map { .string($0) }) }
}
