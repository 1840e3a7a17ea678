/// Text that came from an event, made safe to show: control characters (escape sequences that
/// could rewrite a screen or a window title, carriage returns that hide what came before) and
/// bidirectional overrides become "?"; line breaks and tabs stay. Every terminal line, table and
/// CSV cell goes through it (events come from other laptops, and the other charity's).
public func displaySafe(_ text: String) -> String {
    func unsafe(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09, 0x0A: return false
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
    guard text.unicodeScalars.contains(where: unsafe) else { return text }
    return String(String.UnicodeScalarView(text.unicodeScalars.map { unsafe($0) ? "?" : $0 }))
}
