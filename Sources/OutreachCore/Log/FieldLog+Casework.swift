import Foundation

extension FieldLog {
    /// Records an action agreed at the tasking meeting for a person (partnership: both charities
    /// and the meeting see it; keep names out of the text).
    @discardableResult
    public func addTaskingAction(person: String, action: String, owner: String?, due: Int64?, at: Int64) throws -> Event {
        let text = action.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw FieldlogError.badInput("the action is empty", hint: "say what was agreed, e.g. \"offer a GP appointment\"") }
        let body = Body.TaskingAction(person: person, action: text, owner: owner, due: due)
        return try store.append([Draft(payload(body, at: at))], keyring: keyring)[0]
    }

    /// Marks a tasking action done.
    @discardableResult
    public func completeTaskingAction(_ id: EventID, state: FieldState, at: Int64) throws -> Event {
        guard let action = state.taskingActions[id] else {
            throw FieldlogError(.unknownRef, "event \(id.hex.prefix(7)) is not a tasking action", hint: "fieldlog tasking lists them with their refs")
        }
        guard !action.done else { throw FieldlogError.badInput("that action is already done") }
        return try store.append([Draft(payload(Body.TaskingDone(action: id), at: at))], keyring: keyring)[0]
    }
}

extension FieldLog {
    /// Records how a referral turned out (partnership; a later outcome supersedes an earlier one
    /// it has seen, concurrent ones are a conflict like any register's).
    @discardableResult
    public func recordReferralOutcome(_ referral: EventID, _ outcome: ReferralOutcomeKind, state: FieldState, at: Int64) throws -> Event {
        guard state.referrals[referral] != nil else {
            throw FieldlogError(.unknownRef, "event \(referral.hex.prefix(7)) is not a referral", hint: "fieldlog log lists events with their refs")
        }
        return try store.append([Draft(payload(Body.ReferralOutcome(referral: referral, outcome: .known(outcome)), at: at))], keyring: keyring)[0]
    }
}

extension FieldLog {
    /// Records a safeguarding concern (partnership: category and action, no detail). Raised
    /// without her consent, a reason is required (DESIGN §4).
    @discardableResult
    public func raiseSafeguarding(person: String?, category: SafeguardingCategory, action: String?, withConsent: Bool, reason: String?,
                                  at: Int64) throws -> Event {
        let why = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        if !withConsent && (why ?? "").isEmpty {
            throw FieldlogError.badInput("a concern raised without her consent needs a reason", input: .reason)
        }
        let texts = try personTexts(["action": action, "reason": why], .safeguardingRaised, person: person)
        let body = Body.SafeguardingRaised(person: person, category: .known(category), action: texts["action"], withConsent: withConsent, reason: texts["reason"])
        return try store.append([Draft(payload(body, at: at))], keyring: keyring)[0]
    }
}
