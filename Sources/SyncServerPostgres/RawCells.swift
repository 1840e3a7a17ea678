import Foundation
import NIOCore
import OutreachCore
import PostgresNIO

/// A row's cells read straight from their bytes, for the rows a page reads by the thousand:
/// PostgresNIO's generic tuple decoding cost more per row than PostgreSQL took to find it
/// (issue 12, the crowd). Binary text, int8, bool and bytea are read here; any other type or
/// format goes through PostgresNIO's own decoding, so a change on its side is slower, not wrong.
struct RawCells {
    private var iterator: PostgresRow.Iterator

    init(_ row: PostgresRow) { iterator = row.makeIterator() }

    private mutating func cell() throws -> PostgresCell {
        guard let cell = iterator.next() else { throw FieldlogError(.corrupt, "a database row has fewer columns than asked") }
        return cell
    }

    mutating func text() throws -> String {
        let cell = try cell()
        guard cell.format == .binary, cell.dataType == .text || cell.dataType == .varchar, let bytes = cell.bytes else { return try cell.decode(String.self) }
        return String(buffer: bytes)
    }

    mutating func optionalText() throws -> String? {
        let cell = try cell()
        guard cell.bytes != nil else { return nil }
        guard cell.format == .binary, cell.dataType == .text || cell.dataType == .varchar, let bytes = cell.bytes else { return try cell.decode(String.self) }
        return String(buffer: bytes)
    }

    mutating func int64() throws -> Int64 {
        let cell = try cell()
        guard cell.format == .binary, cell.dataType == .int8, let bytes = cell.bytes, bytes.readableBytes == 8,
              let value = bytes.getInteger(at: bytes.readerIndex, as: Int64.self) else { return try cell.decode(Int64.self) }
        return value
    }

    mutating func bool() throws -> Bool {
        let cell = try cell()
        guard cell.format == .binary, cell.dataType == .bool, let bytes = cell.bytes, bytes.readableBytes == 1,
              let value = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self), value <= 1 else { return try cell.decode(Bool.self) }
        return value == 1
    }

    /// A bytea cell's bytes as they came (nil for NULL), without a copy.
    mutating func byteBuffer() throws -> ByteBuffer? {
        let cell = try cell()
        guard cell.bytes != nil else { return nil }
        guard cell.format == .binary, cell.dataType == .bytea, let bytes = cell.bytes else { return try cell.decode(ByteBuffer.self) }
        return bytes
    }

    /// A row value's cell in its binary record form, without a copy (nil for NULL); throws if
    /// PostgreSQL sent it in any other form.
    mutating func record() throws -> ByteBuffer? {
        let cell = try cell()
        guard let bytes = cell.bytes else { return nil }
        guard cell.format == .binary, cell.dataType == .record else { throw FieldlogError(.corrupt, "a row value came as \(cell.dataType), not a binary record") }
        return bytes
    }

    mutating func data() throws -> Data {
        let cell = try cell()
        guard cell.format == .binary, cell.dataType == .bytea, let bytes = cell.bytes else { return try cell.decode(Data.self) }
        return Data(bytes.readableBytesView)
    }
}
