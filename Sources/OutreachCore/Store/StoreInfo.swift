import Foundation

/// What a store says about itself in clear: enough to route and to say who it is, nothing personal.
public struct StoreInfo: Sendable, Equatable {
    public let storeID: String
    public let replica: ReplicaID
    public let org: String
    public let device: String
    public let partnershipID: String
    public let createdAt: Int64
}
