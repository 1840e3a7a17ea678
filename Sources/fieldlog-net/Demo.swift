import ArgumentParser
import FieldlogCLI
import Foundation
import OutreachCore

struct Demo: AsyncParsableCommand {
    static let configuration = FieldlogCommandLine.demoConfiguration
    func run() async throws { try await DemoScript().run() }
}
