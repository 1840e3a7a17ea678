import ArgumentParser
import FieldlogCLI
import Foundation
import OutreachCore

struct Demo: AsyncParsableCommand {
    static let configuration = FieldlogCommandLine.demoConfiguration
    @Flag(help: "Keep the demo's stores afterwards, to try commands on them (it says how).") var keep = false
    func run() async throws { try await DemoScript(keep: keep).run() }
}
