import Crypto
import Foundation

/// The certificates a replica has accepted and the root it pinned for each organisation
/// (`Protocol/trust.md` §2): who may sign events as which organisation's device.
public struct Roster: Sendable {
    public let partnership: String
    /// Organisation → its pinned root's fingerprint.
    public private(set) var pins: [String: KeyFingerprint]
    /// Every accepted certificate, by the fingerprint of the key it certifies.
    public private(set) var accepted: [KeyFingerprint: DeviceCertificate] = [:]
    /// Event signers (root and device certificates) by replica, keys parsed once.
    private var signers: [ReplicaID: Signer] = [:]

    struct Signer: Sendable {
        let certificate: DeviceCertificate
        let checker: SignatureChecker
    }

    /// Who may be pinned on first sight when certificates are admitted.
    public enum PinPolicy: Sendable, Equatable {
        /// Any organisation without a pin (a laptop: trust on first sight).
        case firstSight
        /// Only this organisation (a server at that organisation's enrolment).
        case only(String)
        /// None: only certificates chaining to existing pins.
        case never
    }

    /// A certificate that was not accepted, and why.
    public struct Refusal: Sendable, Equatable, CustomStringConvertible {
        public let certificate: DeviceCertificate
        public let reason: String
        public var description: String { "\(certificate.role.rawValue) certificate of \(certificate.org)/\(certificate.device) (\(certificate.fingerprint.grouped)): \(reason)" }
    }

    public init(partnership: String, pins: [String: KeyFingerprint] = [:]) {
        self.partnership = partnership
        self.pins = pins
    }

    /// Certificates sorted by organisation, role, device and fingerprint.
    public var certificates: [DeviceCertificate] {
        accepted.sorted { ($0.value.org, $0.value.role.rawValue, $0.value.device, $0.key) < ($1.value.org, $1.value.role.rawValue, $1.value.device, $1.key) }
            .map(\.value)
    }

    /// A short digest of the accepted certificates (sync asks for the server's only when they differ).
    public var digest: String { Self.digest(of: accepted.keys) }

    public static func digest<S: Sequence>(of fingerprints: S) -> String where S.Element == KeyFingerprint {
        var hash = SHA256()
        for f in fingerprints.sorted() { hash.update(data: Data(f.hex.utf8)) }
        return Hex.encode(Data(hash.finalize()).prefix(16))
    }

    /// Whether `other` judges every event as this roster does: the same pins, certificates and
    /// signers (a check made with one stands for a check made with the other).
    public func judgesAlike(_ other: Roster) -> Bool {
        partnership == other.partnership && pins == other.pins && accepted == other.accepted
            && signers.count == other.signers.count && signers.allSatisfy { other.signers[$0.key]?.certificate == $0.value.certificate }
    }

    /// The root or device certificate that signs events for `replica`.
    public func signer(of replica: ReplicaID) -> DeviceCertificate? { signers[replica]?.certificate }

    /// Whether `signature` over `message` verifies under the key certified for `replica`.
    func verify(_ signature: Data, of message: Data, by replica: ReplicaID) -> Bool {
        signers[replica]?.checker.isValid(signature, for: message) ?? false
    }

    /// Admits what it can of `offered` (any order: a batch is retried until nothing more is
    /// accepted), pinning roots as `pinning` allows. Returns the newly accepted certificates and
    /// the refused ones (certificates already accepted are neither).
    @discardableResult
    public mutating func admit(_ offered: [DeviceCertificate], pinning: PinPolicy) -> (accepted: [DeviceCertificate], refused: [Refusal]) {
        var waiting = offered.filter { accepted[$0.fingerprint] != $0 }
            .sorted { ($0.issuedAt, $0.fingerprint, $0.signature.base64EncodedString()) < ($1.issuedAt, $1.fingerprint, $1.signature.base64EncodedString()) }
        var added = [DeviceCertificate]()
        var refused = [Refusal]()
        var progress = true
        while progress && !waiting.isEmpty {
            progress = false
            var next = [DeviceCertificate]()
            for cert in waiting {
                if accepted[cert.fingerprint] == cert { continue }  // a duplicate in the batch
                switch judge(cert, pinning: pinning) {
                case .accept:
                    accept(cert)
                    added.append(cert)
                    progress = true
                case .wait:
                    next.append(cert)
                case .refuse(let reason):
                    refused.append(Refusal(certificate: cert, reason: reason))
                }
            }
            waiting = next
        }
        refused += waiting.map { Refusal(certificate: $0, reason: "its issuer is not a certified device of \($0.org)") }
        return (added, refused)
    }

    private enum Judgement { case accept, wait, refuse(String) }

    private func judge(_ c: DeviceCertificate, pinning: PinPolicy) -> Judgement {
        guard c.partnership == partnership else { return .refuse("it belongs to another partnership") }
        if let existing = accepted[c.fingerprint] {
            // The same key certified twice (e.g. re-issued): keep the first; refuse a different binding.
            if existing.org != c.org || existing.replica != c.replica || existing.role != c.role {
                return .refuse("this key is already certified as \(existing.org)/\(existing.device)")
            }
            return .refuse("this key is already certified")
        }
        if c.role.signsEvents, let other = signers[c.replica], other.certificate.key != c.key {
            return .refuse("replica \(c.replica) already has another key (\(other.certificate.fingerprint.grouped))")
        }
        if c.role == .root {
            guard c.isSelfSigned, c.isSigned(by: c.key) else { return .refuse("a root must be validly self-signed") }
            if let pin = pins[c.org] { return pin == c.fingerprint ? .accept : .refuse("\(c.org)'s pinned root is \(pin.grouped)") }
            switch pinning {
            case .firstSight: return .accept
            case .only(let org) where org == c.org: return .accept
            default: return .refuse("\(c.org) has no pinned root here, and this root may not be pinned from this source")
            }
        }
        guard !c.isSelfSigned else { return .refuse("only a root may sign its own certificate") }
        guard let issuer = accepted[c.issuer] else { return .wait }
        guard issuer.org == c.org else { return .refuse("issued by \(issuer.org), not by \(c.org)") }
        switch issuer.role {
        case .root, .device:
            break
        case .invite:
            guard c.role == .device, c.device == issuer.device, c.replica == issuer.replica else {
                return .refuse("an invite certifies only the one device it names")
            }
        }
        guard c.isSigned(by: issuer.key) else { return .refuse("bad signature") }
        return .accept
    }

    private mutating func accept(_ c: DeviceCertificate) {
        accepted[c.fingerprint] = c
        if c.role == .root && pins[c.org] == nil { pins[c.org] = c.fingerprint }
        if c.role.signsEvents, let checker = SignatureChecker(publicKey: c.key) {
            signers[c.replica] = Signer(certificate: c, checker: checker)
        }
    }

    /// The chain from `replica`'s certificate up to its root (the certificate first).
    public func chain(of replica: ReplicaID) -> [DeviceCertificate] {
        var out = [DeviceCertificate]()
        var next = signer(of: replica)
        while let c = next, !out.contains(c) {
            out.append(c)
            next = c.isSelfSigned ? nil : accepted[c.issuer]
        }
        return out
    }
}
