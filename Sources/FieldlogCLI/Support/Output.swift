import ArgumentParser
import Foundation
import OutreachCore

/// Runs a command body and turns any failure into one line on stderr and an exit code (the one
/// error boundary of the command line, with `FieldlogCommandLine.run` for bad flags).
///
/// Exit codes: 2 bad input or unknown ref, 3 no store / locked / wrong passphrase,
/// 4 a damaged, altered or foreign file, 5 `check` found a problem, 1 anything else.
public func guarded(_ body: () throws -> Void) throws {
    do { try body() } catch { throw Output.fail(error) }
}

/// The same for async command bodies.
public func guarded(_ body: () async throws -> Void) async throws {
    do { try await body() } catch { throw Output.fail(error) }
}

public enum Output {
    /// Reports `error` as one line and returns the exit code to end with. A `FieldlogError` says
    /// what to do; anything else (SQLite, JSON, the system) is named as what it is.
    public static func fail(_ error: any Error) -> ExitCode {
        switch error {
        case let code as ExitCode:
            return code
        case let e as FieldlogError:
            Output.error(e.message, hint: e.hint ?? optionHint(e))
            return ExitCode(exitCode(e.code))
        case let e as JSONParseError:
            Output.error("a file or an answer is not valid JSON (\(e))", hint: "nothing was changed")
            return ExitCode(4)
        default:
            let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(type(of: error))"
            if String(describing: type(of: error)).contains("DatabaseError") {
                Output.error("the store could not be read or written: \(text)", hint: "run fieldlog check; nothing was changed")
                return ExitCode(4)
            }
            Output.error(text, hint: nil)
            return ExitCode(1)
        }
    }

    /// A progress line that rewrites itself on a terminal (nil clears it).
    public static func progress(_ text: String?) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + (text ?? "")).utf8))
    }

    public static func line(_ text: String = "") { print(terminalSafe(text)) }

    /// Text as it may reach a terminal (`displaySafe`).
    public static func terminalSafe(_ text: String) -> String { displaySafe(text) }

    public static func json(_ value: JSONValue) { print(value.prettyString()) }

    /// The option to give or change, for an error the library raised about an input (the
    /// library names inputs in its own words, never a flag).
    static func optionHint(_ e: FieldlogError) -> String? {
        switch (e.input, e.code) {
        case (.name?, _): "give --name, e.g. --name \"Rose\""
        case (.reason?, _): "add --reason, e.g. --reason \"risk to life\""
        case (.unidentified?, _): "give a person's ref, or --unidentified N (1 to 500)"
        case (.periodStart?, _), (.periodEnd?, _): "give the earlier day to --from"
        case (.months?, _): "e.g. --months 12"
        case (.storeDirectory?, .storeExists): "use --store DIR for another one"
        case (.storeDirectory?, _): "run fieldlog init, or pass --store DIR"
        case (.confirm?, _): "add --yes to go on without asking"
        case (.after?, _): "e.g. --after 6y (years) or --after 18mo (months)"
        case (.person?, _): "use one of the refs instead (fieldlog people --name NAME shows who is who)"
        case (nil, _): nil
        }
    }

    public static func error(_ message: String, hint: String?) {
        let text = terminalSafe("error: \(message)" + (hint.map { " — \($0)" } ?? "")) + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    public static func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    public static func exitCode(_ code: FieldlogError.Code) -> Int32 {
        switch code {
        case .badInput, .unknownRef, .ambiguousRef, .notPermitted, .conflict: return 2
        case .noStore, .locked, .wrongPassphrase, .storeExists: return 3
        case .foreignBundle, .tampered, .malformed, .corrupt: return 4
        case .io: return 1
        }
    }

    /// A plain text table: columns padded to their widest cell; `alignRight` right-aligns every
    /// column but the first (figures).
    public static func table(_ header: [String], _ rows: [[String]], alignRight: Bool = false) {
        guard !rows.isEmpty else { return }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func render(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { i, c -> String in
                let gap = String(repeating: " ", count: max(0, widths[min(i, widths.count - 1)] - c.count))
                if alignRight && i > 0 { return gap + c }
                return i == cells.count - 1 ? c : c + gap
            }
            return padded.joined(separator: "  ")
        }
        print(terminalSafe(render(header)))
        for row in rows { print(terminalSafe(render(row))) }
    }
}

extension JSONValue {
    public static func str(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    public static func num(_ n: Int) -> JSONValue { .int(Int64(n)) }
}
