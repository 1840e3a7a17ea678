import ArgumentParser
import Foundation
import OutreachCore

struct ReferralCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "referral", abstract: "Record how a referral turned out.", subcommands: [ReferralOutcome.self])
}

struct ReferralOutcome: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outcome", abstract: "attended, did-not-attend, declined or waiting.",
        discussion: "fieldlog referral outcome REF attended   (referrals are made with fieldlog contact add --referral)")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The referral's ref (fieldlog log).") var ref: String
    @Argument(help: "attended, did-not-attend, declined or waiting.") var outcome: String

    func run() throws {
        try guarded {
            let kind = try ReferralOutcomeKind.parse(outcome)
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let id = try lookup.eventID(ref, noun: "referral")
            try log.recordReferralOutcome(id, kind, state: lookup.state, at: WallClock.nowMillis())
            Output.line("referral \(lookup.ref(id)): \(kind.rawValue)")
        }
    }
}

struct SafeguardingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "safeguarding", abstract: "Record safeguarding concerns.", subcommands: [SafeguardingAdd.self])
}

struct SafeguardingAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Record a concern raised (both charities see the category and action, nothing more).",
        discussion: """
            fieldlog safeguarding add ROSE --category exploitation --action "referred to adult social care"
            Without her consent: --without-consent --reason "risk to life".
            Categories: \(SafeguardingCategory.allCases.map(\.rawValue).joined(separator: ", ")).
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The person's ref or working name.", completion: Complete.people) var ref: String
    @Option(help: "physical, sexual, exploitation, …") var category: String
    @Option(help: "What was done about it.") var action: String?
    @Flag(help: "Raised without her consent (needs --reason).") var withoutConsent = false
    @Option(help: "Why it was raised without consent.") var reason: String?
    @Option(help: "When (default now).") var at: String?

    func run() throws {
        try guarded {
            let kind = try SafeguardingCategory.parse(category)
            let when = try Parse.time(at)
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let person = try lookup.person(ref)
            let event = try log.raiseSafeguarding(person: person.id, category: kind, action: action, withConsent: !withoutConsent, reason: reason, at: when)
            Output.line("concern \(event.id.hex.prefix(7)) recorded for \(lookup.label(person)) (\(kind.rawValue)\(withoutConsent ? ", without consent" : ""))")
        }
    }
}
