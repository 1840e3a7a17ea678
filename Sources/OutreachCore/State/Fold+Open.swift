extension Fold {
    /// Opens every event with `keyring` and folds them from scratch.
    public static func fold(_ events: [Event], keyring: Keyring) -> FieldState {
        let (opened, unreadable) = Sealer(keyring).open(events)
        var state = fold(opened)
        state.unreadable = unreadable
        return state
    }
}
