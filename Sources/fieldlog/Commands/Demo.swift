import ArgumentParser
import Foundation
import OutreachCore

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "The whole story on throwaway stores in a temporary directory.")
    func run() throws { try DemoScript().run() }
}
