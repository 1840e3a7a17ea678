import NIOCore
import OutreachCore
import SyncServerKit

extension DotFacts {
    /// One origin's packed facts (`fieldlog_dot_facts`), sorted by seq; throws on a malformed
    /// record or a seq named twice.
    static func unpack(_ packed: ByteBuffer) throws -> [(UInt64, Fact)] {
        var facts = [(UInt64, Fact)]()
        try packed.withUnsafeReadableBytes { raw in
            var at = 0
            while at < raw.count {
                guard raw.count - at >= 43 else { throw FieldlogError(.corrupt, "a dot's facts are cut short") }
                let seq = raw.loadUnaligned(fromByteOffset: at + 32, as: UInt64.self).bigEndian
                let shared = raw[at + 40]
                let length = Int(raw.loadUnaligned(fromByteOffset: at + 41, as: UInt16.self).bigEndian)
                guard let id = EventID(bytes: UnsafeRawBufferPointer(rebasing: raw[at ..< at + 32])), seq >= 1, seq <= UInt64(Int64.max), shared <= 1,
                      length >= 1, raw.count - at - 43 >= length,
                      let org = String(validating: UnsafeRawBufferPointer(rebasing: raw[at + 43 ..< at + 43 + length]), as: UTF8.self) else {
                    throw FieldlogError(.corrupt, "a dot's facts are malformed")
                }
                facts.append((seq, Fact(id: id, org: org, shared: shared == 1)))
                at += 43 + length
            }
        }
        return try inSeqOrder(facts, seq: \.0)
    }
}

/// `records` of one origin, which PostgreSQL packs in no promised order, sorted by seq; throws
/// if a seq is named twice.
func inSeqOrder<T>(_ records: [T], seq: (T) -> UInt64) throws -> [T] {
    func ascending(_ r: [T]) -> Bool { zip(r, r.dropFirst()).allSatisfy { seq($0) < seq($1) } }
    if ascending(records) { return records }
    let sorted = records.sorted { seq($0) < seq($1) }
    guard ascending(sorted) else { throw FieldlogError(.corrupt, "a packed row names one seq twice") }
    return sorted
}
