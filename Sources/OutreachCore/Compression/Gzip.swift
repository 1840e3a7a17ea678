import CZlib
import Foundation

/// gzip through the system zlib.
public enum Gzip {
    /// The stream expands past the limit the caller set (a zip bomb, or simply too much).
    public struct TooLarge: Error, CustomStringConvertible {
        public let limit: Int
        public var description: String { "compressed data expands beyond \(limit) bytes" }
    }

    /// The level for sync bodies: they are mostly sealed bytes in base64, where level 1 saves
    /// nearly as much as level 6 in a fraction of the time (BENCHMARKS.md, "gzip of a sync page").
    public static let fastLevel: Int32 = 1

    public static func compress(_ data: Data, level: Int32 = 6) throws -> Data {
        var stream = z_stream()
        guard fieldlog_deflateInit2(&stream, level) == Z_OK else { throw FieldlogError(.io, "gzip: cannot start compression") }
        defer { deflateEnd(&stream) }
        var out = Data()
        var input = [UInt8](data)
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        let count = input.count
        return try input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(count)
            var status: Int32 = Z_OK
            repeat {
                status = buffer.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(chunk)
                    return deflate(&stream, Z_FINISH)
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw FieldlogError(.io, "gzip: compression failed (\(status))")
                }
                out.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
            } while status != Z_STREAM_END
            return out
        }
    }

    /// Decompresses a gzip stream, refusing output larger than `maxSize` (a zip bomb) or a damaged stream.
    public static func decompress(_ data: Data, maxSize: Int) throws -> Data {
        var stream = z_stream()
        guard fieldlog_inflateInit2(&stream) == Z_OK else { throw FieldlogError(.io, "gzip: cannot start decompression") }
        defer { inflateEnd(&stream) }
        var input = [UInt8](data)
        let count = input.count
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        var out = Data()
        return try input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(count)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                out.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
                guard out.count <= maxSize else { throw TooLarge(limit: maxSize) }
                if status == Z_STREAM_END {
                    guard stream.avail_in == 0 else { throw FieldlogError.malformed("trailing bytes after the gzip stream") }
                    return out
                }
                guard status == Z_OK else { throw FieldlogError.malformed("the gzip stream is damaged") }
                if stream.avail_in == 0 && stream.avail_out != 0 { throw FieldlogError.malformed("the gzip stream is truncated") }
            }
        }
    }
}
