import Foundation

/// A closed list of values a field may take, with the names the command line accepts.
public protocol Vocabulary: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == String {
    /// What the list is called in an error ("service", "need"…).
    static var noun: String { get }
}

extension Vocabulary {
    /// Parses a user's word (case-insensitive), or explains the valid words.
    public static func parse(_ text: String) throws -> Self {
        let word = text.lowercased().trimmingCharacters(in: .whitespaces)
        if let value = Self(rawValue: word) { return value }
        let words = allCases.map(\.rawValue)
        let guess = Suggest.phrase(word, among: words).map { ": \($0)" } ?? ""
        throw FieldlogError.badInput("unknown \(noun) \"\(text)\"\(guess)", hint: "the \(noun)s are: \(words.joined(separator: ", "))")
    }
}

/// Where a contact happened. Van and foot are outreach (DESIGN §8, "contacts").
public enum Setting: String, Vocabulary {
    case van, foot, dropIn = "drop-in", casework, homeVisit = "home-visit", jointPolice = "joint-police", phone
    public static let noun = "setting"
    public var isOutreach: Bool { self == .van || self == .foot }
}

public enum Service: String, Vocabulary {
    case condoms, lube, needles, foil, sharpsBin = "sharps-bin", naloxone, food, drink, clothing, toiletries, alarm
    case safetyAdvice = "safety-advice", transport
    public static let noun = "service"
}

public enum Need: String, Vocabulary {
    case housing, finance, physicalHealth = "physical-health", mentalHealth = "mental-health", drugs, alcohol
    case sexualHealth = "sexual-health", emotional, domesticAbuse = "domestic-abuse", sexualViolence = "sexual-violence"
    case exploitation, trafficking, immigration, idDocuments = "id-documents", ete, exit
    public static let noun = "need"
}

public enum ReferralDestination: String, Vocabulary {
    case housing, drugTreatment = "drug-treatment", rapidAccess = "rapid-access", sexualHealth = "sexual-health", gp
    case mentalHealth = "mental-health", isvaSarc = "isva-sarc", domesticAbuse = "domestic-abuse"
    case adultSocialCare = "adult-social-care", nrm, swlo, num
    public static let noun = "referral destination"
}

public enum ReferralMethod: String, Vocabulary {
    case signpost, refer, accompany
    public static let noun = "referral method"
}

public enum ReferralOutcomeKind: String, Vocabulary {
    case attended, didNotAttend = "did-not-attend", declined, waiting
    public static let noun = "referral outcome"
}

/// Adult safeguarding categories (the Care Act 2014 statutory guidance).
public enum SafeguardingCategory: String, Vocabulary {
    case physical, sexual, psychological, financial, neglect, selfNeglect = "self-neglect", domesticAbuse = "domestic-abuse"
    case modernSlavery = "modern-slavery", exploitation, discriminatory, organisational
    public static let noun = "safeguarding category"
}

public enum IncidentKind: String, Vocabulary {
    case assault, sexualAssault = "sexual-assault", robbery, threats, harassment, nonPayment = "non-payment"
    case condomRemoval = "condom-removal", blackmail, other
    public static let noun = "incident type"
}

/// How far a woman agreed an incident report may go (DESIGN §4).
public enum ConsentLevel: String, Vocabulary, Comparable {
    /// Record only.
    case l0 = "L0"
    /// Alert others (an ugly-mug warning, no victim identity).
    case l1 = "L1"
    /// Anonymous intelligence to the police.
    case l2 = "L2"
    /// A full report to the police.
    case l3 = "L3"
    public static let noun = "consent level"
    public static func parse(_ text: String) throws -> ConsentLevel {
        if let v = ConsentLevel(rawValue: text.uppercased()) { return v }
        throw FieldlogError.badInput("unknown consent level \"\(text)\"", hint: "use L0 (record only), L1 (alert others), L2 (anonymous to police) or L3 (full report)")
    }
    public static func < (a: ConsentLevel, b: ConsentLevel) -> Bool { a.rawValue < b.rawValue }
}

/// The fields that change over time and merge by causal context (DESIGN §4, registers).
public enum Register: String, Vocabulary {
    case risk, priority, lead, casework
    public static let noun = "register"
}

public enum RiskLevel: String, Vocabulary {
    case low, medium, high
    public static let noun = "risk level"
}

public enum RetractReason: String, Vocabulary {
    case error, wrongPerson = "wrong-person", duplicate
    public static let noun = "reason"
}

public enum Sector: String, Vocabulary {
    case street, indoor, online
    public static let noun = "sector"
}

/// A field of a closed vocabulary as an event holds it, and as the fold keeps it: a word this
/// version knows, or one it does not (written by a newer version, or by a client that did not
/// check), kept as written so nothing is lost (DESIGN §4) and counted under its own name.
///
/// The state keeps these rather than strings, so a contact's setting is a `Setting` from the
/// command that wrote it to the report that counts it; strings only at the edges (payload
/// JSON, snapshots, tables).
public enum Word<V: Vocabulary>: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    case known(V)
    case unknown(String)

    public init(_ word: String) { self = V(rawValue: word).map { .known($0) } ?? .unknown(word) }
    public init(stringLiteral word: String) { self.init(word) }

    /// The word as written.
    public var rawValue: String {
        switch self {
        case .known(let v): v.rawValue
        case .unknown(let word): word
        }
    }

    /// The value, when this version knows it.
    public var known: V? { if case .known(let v) = self { v } else { nil } }

    public var description: String { rawValue }

    /// By the word as written (the order tables and snapshots use).
    public static func < (a: Word, b: Word) -> Bool { a.rawValue < b.rawValue }
}
