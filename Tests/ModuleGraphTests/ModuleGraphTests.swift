import Foundation
import Testing

/// The module graph of docs/architecture.md, checked against the package's own manifest
/// (`swift package dump-package`): a library may depend only on what its row allows, and no
/// service library depends on another. Adding an edge means adding it to the document and to
/// ``ModuleGraph/allowed`` in the same change, on purpose.
enum ModuleGraph {
    /// The service libraries: one service's code each, never depending on one another.
    static let services: Set<String> = [
        "MarketData", "Processing", "Signals", "Notifications", "Scheduling", "OperatorKit", "Journal", "Dashboard",
    ]

    /// Each library target and the package targets it may depend on (docs/architecture.md,
    /// "Who may depend on whom"). `nil`: anything (the `Tickwire` facade).
    static let allowed: [String: Set<String>?] = [
        // Leaves and contracts.
        "Timekeeping": [],
        "MarketCalendar": [],
        "Models": [],
        "FeatureContract": [],
        "Bus": ["CZeroMQ", "Timekeeping"],
        "Contracts": ["Bus", "FeatureContract", "Timekeeping"],
        "ServiceKit": ["Bus", "Contracts", "Observability", "Timekeeping"],
        // Metrics and health endpoints: no Tickwire module below it.
        "Observability": [],
        // The one libcurl wrapper.
        "Curl": ["CCurl"],
        // Shared helpers: what more than one service needs lives here, never in a service.
        "Indicators": ["FeatureContract", "Timekeeping"],
        "Bars": ["Contracts", "Indicators", "Timekeeping"],
        "SessionClient": ["Contracts", "MarketCalendar", "ServiceKit", "Timekeeping"],
        "Training": ["FeatureContract", "Indicators", "Models"],
        // Services.
        "MarketData": [
            "Bars", "Bus", "Contracts", "Curl", "Indicators", "MarketCalendar", "ServiceKit", "SessionClient", "Timekeeping",
        ],
        "Processing": ["Bars", "Bus", "Contracts", "FeatureContract", "Indicators", "ServiceKit", "Timekeeping"],
        "Signals": ["Bus", "Contracts", "FeatureContract", "Models", "ServiceKit", "SessionClient", "Timekeeping"],
        "Scheduling": ["Contracts", "MarketCalendar", "ServiceKit", "SessionClient", "Timekeeping"],
        "Notifications": ["Bus", "Contracts", "Curl", "ServiceKit", "Timekeeping"],
        "OperatorKit": ["Bus", "Contracts", "ServiceKit", "Timekeeping"],
        "Journal": ["Bus", "Contracts", "ServiceKit", "Timekeeping"],
        "Dashboard": ["Contracts", "ServiceKit"],
        // Tools and tests.
        "BusFuzz": ["Bus", "CZeroMQ", "Contracts", "Models", "ServiceKit"],
        "TestSupport": ["Bus", "Contracts", "ServiceKit"],
        // The library for custom scripts puts everything together.
        "Tickwire": nil,
        // Backtests run through the library's own pipeline, so they sit above it.
        "Backtesting": ["FeatureContract", "Indicators", "Models", "Signals", "Tickwire", "Training"],
    ]

    /// Edges issue 14 removed, named so that a message says which rule broke.
    static let forbidden: Set<Edge> = [
        Edge("MarketData", "Processing"), Edge("MarketData", "Scheduling"),
        Edge("Signals", "Indicators"), Edge("Signals", "Scheduling"),
    ]

    /// Targets only one target may depend on (any target: libraries, executables, tests and
    /// the `Tickwire` facade alike): libcurl has one wrapper (issue 14).
    static let exclusive: [String: String] = ["CCurl": "Curl"]

    struct Edge: Hashable, CustomStringConvertible {
        let from: String
        let to: String
        init(_ from: String, _ to: String) {
            self.from = from
            self.to = to
        }
        var description: String { "\(from) → \(to)" }
    }

    /// What is wrong with `edges` (library targets' dependencies on package targets), one
    /// message per problem; empty when the graph obeys the rules.
    static func violations(libraries: Set<String>, edges: Set<Edge>) -> [String] {
        var problems: [String] = []
        for library in libraries.sorted() where allowed[library] == nil {
            problems.append("\(library) is not in docs/architecture.md's table (nor in ModuleGraph.allowed)")
        }
        for edge in edges.sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }) {
            if let owner = exclusive[edge.to], edge.from != owner {
                problems.append("\(edge): only \(owner) may depend on \(edge.to) (issue 14: one libcurl wrapper)")
            } else if forbidden.contains(edge) {
                problems.append("\(edge) is forbidden (issue 14)")
            } else if services.contains(edge.from) && services.contains(edge.to) {
                problems.append("\(edge): a service library depends on another service library")
            } else if let row = allowed[edge.from], let permitted = row, !permitted.contains(edge.to) {
                problems.append("\(edge) is not allowed by docs/architecture.md (\(edge.from) may depend on \(permitted.sorted()))")
            }
        }
        return problems
    }

    /// Edges of any target (executables and tests included) onto a target ``exclusive`` keeps
    /// for another, one message each.
    static func exclusivityViolations(_ edges: Set<Edge>) -> [String] {
        edges.sorted(by: { ($0.from, $0.to) < ($1.from, $1.to) }).compactMap { edge in
            guard let owner = exclusive[edge.to], edge.from != owner else { return nil }
            return "\(edge): only \(owner) may depend on \(edge.to) (issue 14: one libcurl wrapper)"
        }
    }
}

@Suite("Module graph")
struct ModuleGraphTests {
    /// The directory holding Package.swift: the nearest ancestor of this file with one.
    static func packageRoot() throws -> URL {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory
            }
            directory.deleteLastPathComponent()
        }
        throw GraphError("no Package.swift above \(#filePath)")
    }

    struct GraphError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// `swift package dump-package` of the package. A scratch directory of its own, so it does
    /// not wait for the `.build` lock the running `swift test` holds.
    static func dumpPackage() throws -> [String: Any] {
        let root = try packageRoot()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("module-graph-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "package", "--package-path", root.path, "--scratch-path", scratch.path, "dump-package"]
        var environment = ProcessInfo.processInfo.environment
        environment["TICKWIRE_FUZZ"] = nil
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GraphError("swift package dump-package exited \(process.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        }
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GraphError("dump-package printed no JSON object")
        }
        return json
    }

    /// Library targets (`regular`) and their dependencies on other targets of the package
    /// (products of other packages do not count); `all`: the same edges for every target,
    /// executables and tests included.
    static func graph(_ manifest: [String: Any]) throws -> (
        libraries: Set<String>, edges: Set<ModuleGraph.Edge>, all: Set<ModuleGraph.Edge>
    ) {
        guard let targets = manifest["targets"] as? [[String: Any]] else { throw GraphError("no targets in the dump") }
        var libraries: Set<String> = []
        var edges: Set<ModuleGraph.Edge> = []
        var all: Set<ModuleGraph.Edge> = []
        for target in targets {
            guard let name = target["name"] as? String else { continue }
            let isLibrary = target["type"] as? String == "regular"
            if isLibrary { libraries.insert(name) }
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                for key in ["byName", "target"] {
                    if let value = dependency[key] as? [Any], let to = value.first as? String {
                        all.insert(ModuleGraph.Edge(name, to))
                        if isLibrary { edges.insert(ModuleGraph.Edge(name, to)) }
                    }
                }
            }
        }
        return (libraries, edges, all)
    }

    @Test("the package's library dependencies are the ones docs/architecture.md allows")
    func packageObeysTheGraph() throws {
        let (libraries, edges, _) = try Self.graph(try Self.dumpPackage())
        #expect(libraries.isSuperset(of: ModuleGraph.services), "\(libraries.sorted())")
        #expect(edges.contains(ModuleGraph.Edge("MarketData", "SessionClient")), "the dump was read: \(edges.count) edges")
        let problems = ModuleGraph.violations(libraries: libraries, edges: edges)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test("only Curl depends on CCurl: every other libcurl user goes through Curl")
    func oneLibcurlWrapper() throws {
        let (_, _, all) = try Self.graph(try Self.dumpPackage())
        let users = Set(all.filter { $0.to == "CCurl" }.map(\.from))
        #expect(users == ["Curl"], "\(users.sorted())")
        #expect(all.contains(ModuleGraph.Edge("MarketData", "Curl")) && all.contains(ModuleGraph.Edge("Notifications", "Curl")))
        let problems = ModuleGraph.exclusivityViolations(all)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    @Test("a target other than Curl depending on CCurl fails, whatever its kind")
    func libcurlEdgesAreExclusive() {
        #expect(ModuleGraph.violations(libraries: ["Curl"], edges: [ModuleGraph.Edge("Curl", "CCurl")]).isEmpty)
        for from in ["MarketData", "Notifications", "Tickwire", "Bus"] {
            let problems = ModuleGraph.violations(libraries: [from, "Curl"], edges: [ModuleGraph.Edge(from, "CCurl")])
            #expect(problems.count == 1, "\(from): \(problems)")
            #expect(problems.first?.contains("only Curl may depend on CCurl") == true, "\(problems)")
        }
        #expect(ModuleGraph.exclusivityViolations([ModuleGraph.Edge("Curl", "CCurl"), ModuleGraph.Edge("Curl", "Foo")]).isEmpty)
        #expect(ModuleGraph.exclusivityViolations([ModuleGraph.Edge("tickwire", "CCurl")]).count == 1)
        #expect(ModuleGraph.exclusivityViolations([ModuleGraph.Edge("CurlTests", "CCurl")]).count == 1)
    }

    @Test("a forbidden edge, a service depending on a service, an unlisted edge or library each fail")
    func violationsAreFound() {
        let libraries: Set<String> = ["MarketData", "Processing", "Signals", "Indicators"]
        #expect(ModuleGraph.violations(libraries: libraries, edges: [ModuleGraph.Edge("MarketData", "Bars")]).isEmpty)
        for edge in [
            ModuleGraph.Edge("MarketData", "Processing"), ModuleGraph.Edge("MarketData", "Scheduling"),
            ModuleGraph.Edge("Signals", "Indicators"), ModuleGraph.Edge("Signals", "Scheduling"),
            ModuleGraph.Edge("Journal", "Notifications"), ModuleGraph.Edge("OperatorKit", "Journal"),
            ModuleGraph.Edge("Indicators", "Contracts"), ModuleGraph.Edge("Processing", "Tickwire"),
        ] {
            #expect(ModuleGraph.violations(libraries: libraries, edges: [edge]).count == 1, "\(edge)")
        }
        #expect(ModuleGraph.violations(libraries: libraries.union(["NewThing"]), edges: []).count == 1)
        #expect(ModuleGraph.violations(libraries: ["Tickwire"], edges: [ModuleGraph.Edge("Tickwire", "Processing")]).isEmpty)
    }

    @Test("docs/architecture.md's table is this test's table")
    func documentMatches() throws {
        let url = try Self.packageRoot().appendingPathComponent("docs/architecture.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        var documented: [String: Set<String>?] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4 else { continue }
            let name = cells[1].replacingOccurrences(of: "`", with: "")
            if cells[3] == "anything" {
                documented[name] = .some(nil)
            } else {
                let names = cells[3].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                documented[name] = .some(Set(names))
            }
        }
        #expect(Set(documented.keys) == Set(ModuleGraph.allowed.keys), "libraries in the document and in the test differ")
        for (library, row) in ModuleGraph.allowed {
            #expect(documented[library] == .some(row), "\(library): the document says \(String(describing: documented[library] ?? nil)), the test \(String(describing: row))")
        }
    }

    @Test("the table itself allows no forbidden edge and no service-to-service edge")
    func tableIsConsistent() {
        for (library, row) in ModuleGraph.allowed {
            for to in row ?? [] {
                let edge = ModuleGraph.Edge(library, to)
                #expect(!ModuleGraph.forbidden.contains(edge), "\(edge)")
                #expect(!(ModuleGraph.services.contains(library) && ModuleGraph.services.contains(to)), "\(edge)")
            }
        }
    }
}
