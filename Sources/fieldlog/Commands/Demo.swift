import ArgumentParser
import Foundation
import OutreachCore

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "The whole story: a sync server and four laptops of two charities, in a temporary directory.")
    func run() async throws { try await DemoScript().run() }
}
