import Foundation

// How `parseMembers` compares an object's keys where it builds no string for them (the parser
// is in `JSONValue+Parse.swift`).

extension JSONValue {
    /// Member names to look for, prepared once for many reads (`parseMembers`): their bytes are
    /// compared with a text's keys where they lie, with nothing counted in or out per key (a
    /// sync's check reads every payload it receives on every core, and shared counts are slow).
    public struct Names: Sendable {
        let keys: [MemberKey]
        private let bytes: Bytes

        public init(_ names: [String]) {
            let flat = names.flatMap { Array($0.utf8) }
            bytes = Bytes(flat)
            var at = 0
            var keys = [MemberKey]()
            for name in names {
                let count = name.utf8.count
                let plain = UnsafeBufferPointer(rebasing: bytes.buffer[at..<at + count])
                keys.append(plain.allSatisfy { $0 < 0x80 } ? .ascii(plain) : .text(name))
                at += count
            }
            self.keys = keys
        }

        /// The names' bytes, kept as long as the names are.
        private final class Bytes: @unchecked Sendable {  // written once, in init
            let buffer: UnsafeBufferPointer<UInt8>
            init(_ flat: [UInt8]) {
                let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(flat.count, 1))
                _ = buffer.initialize(from: flat)
                self.buffer = UnsafeBufferPointer(buffer)
            }
            deinit { buffer.deallocate() }
        }
    }

    /// An object's key where its value is not built: a plain ASCII key (almost every key) is
    /// compared by its bytes in the text, with no string made; any other is a `String`, so two
    /// keys are the same exactly when `parse`'s dictionary takes them as the same (Swift strings
    /// compare by canonical equivalence: "\u212A", the Kelvin sign, is "K").
    enum MemberKey: @unchecked Sendable {  // `ascii` points into bytes its holder keeps (the text read, or `Names`)
        case ascii(UnsafeBufferPointer<UInt8>)
        case text(String)

        var string: String {
            switch self {
            case .ascii(let b): String(decoding: b, as: UTF8.self)
            case .text(let s): s
            }
        }

        static func == (a: MemberKey, b: MemberKey) -> Bool {
            if case .ascii(let x) = a, case .ascii(let y) = b {
                return x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
            return a.string == b.string
        }
    }

    /// The keys of an object read so far: compared one by one while few (most objects), hashed
    /// beyond that (so an object of many keys costs no more than building it).
    struct KeysSeen {
        var few: [MemberKey] = []
        var many: Set<String>?

        /// Adds `key`; false if it was seen already.
        mutating func insert(_ key: MemberKey) -> Bool {
            if many != nil { return many!.insert(key.string).inserted }
            if few.contains(where: { $0 == key }) { return false }
            few.append(key)
            if few.count > 16 { many = Set(few.map(\.string)) }
            return true
        }
    }
}
