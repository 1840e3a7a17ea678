import CZlib
import Foundation

extension Gzip {
    /// Bytes compressed on their own into raw deflate blocks that end on a byte boundary (a sync
    /// flush) and refer to nothing before them: pieces can be laid end to end, in any order and
    /// any number of times, into one gzip member (`Assembly`), as pigz does with the blocks it
    /// compresses in parallel. A server compresses a run of events once and sends it to every
    /// laptop whose answer holds that run (BENCHMARKS.md, the crowd).
    public struct Piece: Sendable {
        /// The deflate blocks.
        public let deflated: Data
        /// CRC-32 of the uncompressed bytes.
        public let crc: UInt32
        /// How many bytes they expand to.
        public let count: Int

        public init(_ raw: Data, level: Int32 = Gzip.fastLevel) throws {
            (deflated, crc, count) = (try Gzip.deflateRaw(raw, level: level, flush: Z_SYNC_FLUSH), Gzip.crc(raw), raw.count)
        }
    }

    /// One gzip member (RFC 1952) written from pieces: the header, each piece's blocks, a final
    /// empty block, then the CRC-32 of everything (combined from the pieces' with zlib's
    /// `crc32_combine`) and the length. Any gzip reader reads it as it would one compressed whole.
    public struct Assembly {
        private var out: Data
        private var crc = Gzip.crc(Data())
        private var length = 0

        /// The fixed header: magic, deflate, no flags, no time, Unix.
        private static let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        /// A final block holding nothing, as zlib ends a raw stream with no input.
        private static let lastBlock: Data = (try? Gzip.deflateRaw(Data(), level: Gzip.fastLevel, flush: Z_FINISH)) ?? Data([3, 0])

        public init(capacity: Int = 0) {
            out = Data(capacity: capacity + 32)
            out.append(contentsOf: Self.header)
        }

        public mutating func append(_ piece: Piece) {
            guard piece.count > 0 else { return }
            out.append(piece.deflated)
            crc = UInt32(crc32_combine(uLong(crc), uLong(piece.crc), off_t(piece.count)))
            length += piece.count
        }

        /// Compresses `raw` as a piece of its own and appends it.
        public mutating func append(raw: Data) throws {
            if !raw.isEmpty { append(try Piece(raw)) }
        }

        /// The member, finished.
        public func finished() -> Data {
            var member = out
            member.append(Self.lastBlock)
            for value in [crc, UInt32(truncatingIfNeeded: length)] {
                member.append(contentsOf: [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)])
            }
            return member
        }
    }

    static func crc(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { raw in
            UInt32(crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count)))
        }
    }

    /// `data` as raw deflate blocks, flushed with `flush` (a sync flush: byte-aligned and open;
    /// finish: closed with a final block).
    static func deflateRaw(_ data: Data, level: Int32, flush: Int32) throws -> Data {
        var stream = z_stream()
        guard fieldlog_deflateInitRaw(&stream, level) == Z_OK else { throw FieldlogError(.io, "gzip: cannot start compression") }
        defer { deflateEnd(&stream) }
        var input = [UInt8](data)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 64)
        let capacity = output.count
        let status = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                return deflate(&stream, flush)
            }
        }
        // The output buffer is larger than deflate's bound, so one call takes all the input.
        guard status == Z_OK || status == Z_STREAM_END, stream.avail_in == 0, stream.avail_out > 0 else {
            throw FieldlogError(.io, "gzip: compression failed (\(status))")
        }
        return Data(output[0..<(capacity - Int(stream.avail_out))])
    }
}
