@testable import OutreachCore

/// Payloads read by key, as the fold read them before event bodies: the oracle fold
/// (`LegacyFold`) and tests read through these, so they stay independent of `Body`.
extension Payload {
    func string(_ key: String) -> String? { fields[key]?.stringValue }
    func int(_ key: String) -> Int64? { fields[key]?.intValue }
    func eventID(_ key: String) -> EventID? { string(key).flatMap { EventID(hex: $0) } }
    func consentLevel(_ key: String) -> ConsentLevel { string(key).flatMap(ConsentLevel.init(rawValue:)) ?? .l0 }
    func strings(_ key: String) -> [String] { (fields[key]?.arrayValue ?? []).compactMap(\.stringValue).sorted() }
    func word<V: Vocabulary>(_ key: String, or fallback: Word<V>) -> Word<V> { string(key).map { Word($0) } ?? fallback }
    func words<V: Vocabulary>(_ key: String) -> [Word<V>] { strings(key).map { Word($0) } }
    func counts<V: Vocabulary>(_ key: String) -> [Word<V>: Int] {
        var out = [Word<V>: Int]()
        for (word, n) in fields[key]?.objectValue ?? [:] { if let n = n.intValue { out[Word(word)] = Int(n) } }
        return out
    }
}
