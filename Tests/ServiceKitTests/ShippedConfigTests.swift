import Foundation
import ServiceKit
import Testing

/// Every config the repository ships must load cleanly: no errors, no unknown keys.
@Suite("Shipped configs")
struct ShippedConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var files: [String] {
        let root = repository.appendingPathComponent("config")
        let enumerator = FileManager.default.enumerator(atPath: root.path)
        var files: [String] = []
        while let name = enumerator?.nextObject() as? String {
            if name.hasSuffix(".json") { files.append(root.appendingPathComponent(name).path) }
        }
        return files.sorted()
    }

    @Test("config/ holds the demo, the seed's file and the examples")
    func present() {
        let names = Self.files.map { ($0 as NSString).lastPathComponent }
        #expect(names.contains("demo.json"))
        #expect(names.contains("live_trading_config.json"))
        #expect(names.count >= 4)
    }

    @Test("loads without errors or unknown keys", arguments: Self.files)
    func loads(_ file: String) throws {
        let environment = [
            "ALPHAVANTAGE_API_KEY": "k", "POLYGON_API_KEY": "k", "ALPACA_API_KEY_ID": "k",
            "ALPACA_API_SECRET_KEY": "s", "FINNHUB_API_KEY": "k",
        ]
        let (_, warnings) = try ConfigLoader(environment: environment).load(file: file)
        #expect(warnings.isEmpty, "\(warnings)")
    }
}
