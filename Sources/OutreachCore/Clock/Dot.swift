/// One event's place in history: the replica that wrote it and that replica's sequence number.
///
/// Every replica numbers its own events 1, 2, 3… with no gaps (DESIGN §3, invariant 2).
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let replica: ReplicaID
    public let seq: UInt64

    public init(_ replica: ReplicaID, _ seq: UInt64) {
        precondition(seq >= 1, "sequence numbers start at 1")
        self.replica = replica
        self.seq = seq
    }

    public var description: String { "\(replica)@\(seq)" }

    public static func < (a: Dot, b: Dot) -> Bool {
        a.replica != b.replica ? a.replica < b.replica : a.seq < b.seq
    }
}
