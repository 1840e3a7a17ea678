import Foundation
/// How one version vector stands to another.
public enum ClockOrder: Sendable, Equatable {
    /// Everything the left side knows, the right side knows too, and more.
    case before
    /// The left side knows everything the right side knows, and more.
    case after
    case equal
    /// Each side knows something the other does not.
    case concurrent
}

/// A version vector: for each replica, the highest sequence number covered.
///
/// `vector[r] == n` means "every event of replica r up to seq n that I am entitled to, I hold".
/// Zero entries are never stored, so two vectors that mean the same thing are equal.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible {
    public private(set) var entries: [ReplicaID: UInt64]

    public init() { entries = [:] }

    public init(_ entries: [ReplicaID: UInt64]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    public subscript(replica: ReplicaID) -> UInt64 {
        get { entries[replica] ?? 0 }
        set { entries[replica] = newValue == 0 ? nil : newValue }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// True when `dot` is at or below this vector's entry for its replica.
    public func covers(_ dot: Dot) -> Bool { self[dot.replica] >= dot.seq }

    /// True when this vector covers every entry of `other`.
    public func covers(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { self[$0.key] >= $0.value }
    }

    /// The least vector that covers both: the entry-wise maximum.
    public func merged(with other: VersionVector) -> VersionVector {
        var result = self
        result.merge(other)
        return result
    }

    public mutating func merge(_ other: VersionVector) {
        for (replica, seq) in other.entries where seq > self[replica] { entries[replica] = seq }
    }

    /// Raises the entry of `dot`'s replica to at least `dot.seq`.
    public mutating func advance(to dot: Dot) {
        if dot.seq > self[dot.replica] { entries[dot.replica] = dot.seq }
    }

    /// Compares two vectors by the partial order of coverage.
    public func compare(_ other: VersionVector) -> ClockOrder {
        let mine = covers(other)
        let theirs = other.covers(self)
        switch (mine, theirs) {
        case (true, true): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (false, false): return .concurrent
        }
    }

    public var description: String {
        "{" + entries.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "}"
    }
}

extension VersionVector {
    /// The vector as a JSON object `{"replica": seq}` (the wire and storage form).
    public var json: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: entries.map { ($0.key.rawValue, JSONValue.int(Int64($0.value))) }))
    }

    /// The vector's canonical JSON (`json.canonicalString()`, replicas ascending), written
    /// directly: every stored event row carries its context in this form.
    public var storedJSON: String { String(decoding: storedJSONBytes, as: UTF8.self) }

    /// `storedJSON` as UTF-8, written with no string made on the way (a bulk insert binds it so).
    public var storedJSONBytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(2 + entries.count * 40)
        out.append(UInt8(ascii: "{"))
        let sorted = entries.count < 2 ? Array(entries) : entries.sorted { $0.key < $1.key }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            for (n, (replica, seq)) in sorted.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "\""))
                Hex.write(word: replica.bits, into: scratch, at: 0)
                out.append(contentsOf: scratch[0..<16])
                out.append(UInt8(ascii: "\""))
                out.append(UInt8(ascii: ":"))
                // The decimal digits, last first, from the end of the scratch space.
                var value = seq, at = 20
                repeat {
                    at -= 1
                    scratch[at] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                } while value > 0
                out.append(contentsOf: scratch[at..<20])
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Reads `{"replica": seq}`; refuses bad replica ids and non-positive numbers.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else { throw FieldlogError.malformed("a version vector must be a JSON object") }
        var entries = [ReplicaID: UInt64]()
        for (key, value) in object {
            guard let replica = ReplicaID(key) else { throw FieldlogError.malformed("bad replica id \"\(key)\" in a version vector") }
            guard let seq = value.intValue, seq >= 0 else { throw FieldlogError.malformed("bad sequence number for \(key) in a version vector") }
            entries[replica] = UInt64(seq)
        }
        self.init(entries)
    }

    /// A vector from the compact JSON this code writes (`{"<replica>":<seq>,…}`, as stored in
    /// an event row's context), read byte by byte; anything else goes through the JSON parser,
    /// with its checks and errors. (Reading rows back is most of a server's page.)
    public init(storedJSON text: String) throws {
        var text = text
        let fast = text.withUTF8 { Self.compactEntries(UnsafeRawBufferPointer($0)) }
        var entries = [ReplicaID: UInt64](minimumCapacity: fast?.count ?? 0)
        if let fast, fast.allSatisfy({ entries.updateValue($0.value, forKey: $0.key) == nil }) {
            self.init(entries)
        } else {  // not compact, or a replica named twice: the parser says what is wrong
            try self.init(json: try JSONValue.parse(Data(text.utf8)))
        }
    }

    /// The entries of a stored context (as `init(storedJSON:)` reads it), replicas ascending,
    /// none zero: what the packed form writes, with no vector built.
    static func sortedEntries(storedJSON bytes: UnsafeRawBufferPointer) throws -> [(key: ReplicaID, value: UInt64)] {
        if var fast = compactEntries(bytes) {
            if fast.contains(where: { $0.value == 0 }) { fast.removeAll { $0.value == 0 } }
            if zip(fast, fast.dropFirst()).allSatisfy({ $0.key < $1.key }) { return fast }
        }
        let v = try VersionVector(storedJSON: String(decoding: bytes, as: UTF8.self))
        return v.entries.sorted { $0.key < $1.key }
    }

    /// The entries of `{"<replica>":<seq>,…}` written compactly, in their order (nil for any
    /// other text; a replica named twice is left to the caller).
    private static func compactEntries(_ bytes: UnsafeRawBufferPointer) -> [(key: ReplicaID, value: UInt64)]? {
        var i = 0, out = [(key: ReplicaID, value: UInt64)]()
        func take(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }
        guard take(UInt8(ascii: "{")) else { return nil }
        if take(UInt8(ascii: "}")) { return i == bytes.count ? out : nil }
        out.reserveCapacity(bytes.count / 20)
        let utf8 = bytes.assumingMemoryBound(to: UInt8.self)
        repeat {
            guard take(UInt8(ascii: "\"")), i + 17 <= bytes.count, bytes[i + 16] == UInt8(ascii: "\""),
                  let replica = ReplicaID(utf8: UnsafeBufferPointer(rebasing: utf8[i..<(i + 16)])) else { return nil }
            i += 17
            guard take(UInt8(ascii: ":")), i < bytes.count else { return nil }
            var seq: UInt64 = 0, digits = 0
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9"), digits < 19 {
                seq = seq * 10 + UInt64(bytes[i] - UInt8(ascii: "0"))
                i += 1
                digits += 1
            }
            guard digits > 0 else { return nil }
            out.append((replica, seq))
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) && i == bytes.count ? out : nil
    }
}
