import ArgumentParser
import Foundation
import OutreachCore

struct ContactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "contact", abstract: "Log contacts.", subcommands: [ContactAdd.self])
}

struct ContactAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Log a contact with a person, or with people seen but not identified.",
        discussion: """
            fieldlog contact add 7f3a --setting van --zone Z3 --service condoms=10,lube=2 --need housing
            fieldlog contact add --unidentified 3 --setting van --zone Z1
            Settings: \(Setting.allCases.map(\.rawValue).joined(separator: ", ")).
            Services: \(Service.allCases.map(\.rawValue).joined(separator: ", ")).
            Needs: \(Need.allCases.map(\.rawValue).joined(separator: ", ")).
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The person's ref (or use --unidentified).", completion: Complete.people) var ref: String?
    @Option(help: "How many people seen but not identified.") var unidentified: Int?
    @Option(help: "van, foot, drop-in, casework, home-visit, joint-police, phone.", completion: Complete.words(Setting.self)) var setting: String
    @Option(help: "The coarse zone (never an exact location): one of fieldlog zones.", completion: Complete.zones) var zone: String?
    @Option(help: "Given: condoms=10 (repeat, or comma list).", completion: Complete.words(Service.self, counted: true)) var service: [String] = []
    @Option(help: "A need identified (repeat, or comma list).", completion: Complete.words(Need.self)) var need: [String] = []
    @Option(help: "A referral made: drug-treatment, housing, … (repeat).", completion: Complete.words(ReferralDestination.self)) var referral: [String] = []
    @Option(help: "signpost, refer or accompany (for --referral).") var referralMethod = "refer"
    @Flag(help: "A welfare check was done.") var welfare = false
    @Option(help: "A note (kept within your organisation).") var note: String?
    @Option(help: "When (default now): 21:40, yesterday 21:40, 2026-11-20 21:40.") var at: String?

    func validate() throws {
        if (ref == nil) == (unidentified == nil) { throw ValidationError("give a person's ref, or --unidentified N") }
        if let unidentified, !(1...500).contains(unidentified) { throw ValidationError("--unidentified must be between 1 and 500") }
    }

    func run() throws {
        try guarded {
            // Parse everything before touching the store: bad input changes nothing.
            var contact = NewContact(person: nil, unidentified: unidentified ?? 0, setting: try Setting.parse(setting), zone: zone)
            contact.services = try Parse.services(service)
            contact.needs = Set(try Parse.list(need, as: Need.self))
            contact.referrals = try Parse.list(referral, as: ReferralDestination.self)
            contact.referralMethod = try ReferralMethod.parse(referralMethod)
            contact.welfareCheck = welfare
            contact.note = note
            let when = try Parse.time(at)
            let log = try Session.unlocked(storeOptions)
            var label = "\(unidentified ?? 0) unidentified"
            let people = try log.personIndex()
            contact.zone = try zone.map(people.zone)
            if let ref {
                let id = try people.resolve(ref)
                contact.person = id
                label = people.label(id)
            }
            contact.workers = [log.author]
            let logged = try log.logContact(contact, at: when)
            let short = String(logged.contact.id.hex.prefix(7))
            if output.format == .json {
                Output.json(["ref": .string(short), "id": .string(logged.contact.id.hex), "person": .str(contact.person),
                             "referrals": .array(logged.referrals.map { .string(String($0.id.hex.prefix(7))) })])
            } else {
                Output.line("contact \(short) logged: \(label), \(contact.setting.rawValue)\(contact.zone.map { " \($0)" } ?? "")")
            }
        }
    }
}
