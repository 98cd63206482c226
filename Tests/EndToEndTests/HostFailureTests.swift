import Foundation
import TestSupport
import Testing

/// Hosts that fail, simulated with network namespaces: bus-proxy on one "host", the ingestor
/// on another, an elastic processor on each of two more, joined by a bridge in a namespace of
/// their own. Links are cut and restored and a host's processes killed; traffic must resume
/// by itself and the tickers move. Needs `ip netns` (root or CAP_NET_ADMIN); skips otherwise.
@Suite("Hosts that fail (network namespaces)", .serialized, .timeLimit(.minutes(3)))
struct HostFailureTests {
    /// Four hosts and a switch: namespaces `tw<id>-sw`, `tw<id>-h1` … `tw<id>-h4`, host i at
    /// 10.199.<subnet>.i on a bridge in the switch namespace.
    final class Network: Sendable {
        let id: String
        let subnet: Int
        let hosts = 4

        init() throws {
            id = String(UInt32.random(in: 0x1000...0xffff), radix: 16)
            subnet = Int.random(in: 1...254)
            var script = "set -e\nip netns add \(switchName)\n"
            script += "ip -n \(switchName) link add br0 type bridge\nip -n \(switchName) link set br0 up\n"
            for host in 1...hosts {
                let name = self.name(host)
                script += """
                    ip netns add \(name)
                    ip -n \(name) link set lo up
                    ip -n \(switchName) link add p\(host) type veth peer name eth0 netns \(name)
                    ip -n \(switchName) link set p\(host) master br0 up
                    ip -n \(name) addr add \(address(host))/24 dev eth0
                    ip -n \(name) link set eth0 up

                    """
            }
            guard Self.run(script) == 0 else {
                remove()
                throw HarnessError("cannot make network namespaces")
            }
        }

        var switchName: String { "tw\(id)-sw" }
        func name(_ host: Int) -> String { "tw\(id)-h\(host)" }
        func address(_ host: Int) -> String { "10.199.\(subnet).\(host)" }

        /// Cuts (`up` false) or restores the host's only link.
        func link(_ host: Int, up: Bool) { _ = Self.run("ip -n \(name(host)) link set eth0 \(up ? "up" : "down")") }

        /// kill -9 every process in the host's namespace.
        func killAll(_ host: Int) { _ = Self.run("for p in $(ip netns pids \(name(host))); do kill -9 $p; done") }

        func remove() {
            var script = ""
            for host in 1...hosts { script += "for p in $(ip netns pids \(name(host)) 2>/dev/null); do kill -9 $p; done\n" }
            for host in 1...hosts { script += "ip netns del \(name(host)) 2>/dev/null\n" }
            script += "ip netns del \(switchName) 2>/dev/null\ntrue\n"
            _ = Self.run(script)
        }

        /// Runs a shell script; its exit status (nil when it hung for 20 s).
        @discardableResult
        static func run(_ script: String) -> Int32? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            let deadline = Date().addingTimeInterval(20)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                process.terminate()
                return nil
            }
            return process.terminationStatus
        }

        /// Whether this machine lets the test make namespaces.
        static var allowed: Bool {
            let probe = "tw-probe-\(UInt32.random(in: 0...UInt32.max))"
            return run("ip netns add \(probe) && ip netns del \(probe)") == 0
        }
    }

    /// Starts `executable` inside host `host`'s namespace.
    func start(
        _ executable: String, on host: Int, of network: Network, arguments: [String], environment: [String: String]
    ) throws -> RunningProcess {
        try RunningProcess(
            executable, arguments: ["netns", "exec", network.name(host), try Paths.executable(executable)] + arguments,
            environment: environment, executable: "/usr/sbin/ip")
    }

    static let tickers = ["AAPL", "MSFT", "GOOGL", "AMZN", "META", "NVDA"]

    /// Producers of live features per ticker published after `since` (UTC ns).
    func owners(_ output: String, since: Int64) -> [String: Set<String>] {
        var owners: [String: Set<String>] = [:]
        for line in jsonLines(output) {
            guard let producer = line["producer"] as? String, let features = line["features"] as? [String: Any],
                let symbol = features["symbol"] as? String, features["from_history"] as? Bool != true
            else { continue }
            let published = (line["publish_time_ns"] as? NSNumber)?.int64Value ?? Int64(line["publish_time_ns"] as? String ?? "") ?? 0
            if published > since { owners[symbol, default: []].insert(producer) }
        }
        return owners
    }

    func allServed(_ tap: RunningProcess, since: Int64, by producers: Set<String>, seconds: Double) async -> Bool {
        await tap.waitForOutput(seconds: seconds) { text in
            let owners = owners(text, since: since)
            return Set(owners.keys) == Set(Self.tickers) && owners.values.allSatisfy { $0.isSubset(of: producers) }
        }
    }

    static func nowNs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    @Test("a processor host cut off: the other serves its tickers; restored, it serves again; the ingestor's link cut: traffic resumes by itself; a host killed: its tickers move")
    func cutRestoreKill() async throws {
        guard Network.allowed else {
            print("skipped: network namespaces are not allowed here (ip netns add needs root or CAP_NET_ADMIN)")
            return
        }
        let network = try Network()
        defer { network.remove() }
        let bus = try TestBus()
        let proxyHost = network.address(1), ingestorHost = network.address(2)
        var environment = bus.environment
        environment["TICKWIRE_PUBLISH_ENDPOINT"] = "tcp://\(proxyHost):\(bus.publishPort)"
        environment["TICKWIRE_SUBSCRIBE_ENDPOINT"] = "tcp://\(proxyHost):\(bus.subscribePort)"
        environment["TICKWIRE_PROXY_XSUB_BIND"] = "tcp://\(proxyHost):\(bus.publishPort)"
        environment["TICKWIRE_PROXY_XPUB_BIND"] = "tcp://\(proxyHost):\(bus.subscribePort)"
        environment["TICKWIRE_HISTORY_BIND"] = "tcp://\(ingestorHost):\(bus.historyPort)"
        environment["TICKWIRE_HISTORY_ENDPOINTS"] = "tcp://\(ingestorHost):\(bus.historyPort)"
        environment["TICKWIRE_JOURNAL_ENDPOINT"] = nil  // no journal here: the config's "" turns it off
        environment["TICKWIRE_JOURNAL_BIND"] = nil
        let config = try writeConfig(#"""
            {
                "tickers": ["AAPL", "MSFT", "GOOGL", "AMZN", "META", "NVDA"],
                "heartbeat": { "interval_seconds": 1 },
                "simulator": { "trades_per_second": 10, "backfill_bars": 120 },
                "processor": { "bar_interval_seconds": 1, "late_tolerance_seconds": 0.2, "history_timeout_seconds": 1 },
                "journal": { "endpoint": "" }
            }
            """#)
        let proxy = try start("bus-proxy", on: 1, of: network, arguments: [], environment: environment)
        #expect(await proxy.waitForOutput(seconds: 10) { $0.contains("forwarding") }, "bus-proxy: \(proxy.stderr)")
        let tap = try start(
            "bus-tap", on: 1, of: network, arguments: ["features.", "--duration", "150"], environment: environment)
        try await Task.sleep(for: .seconds(1.5))
        let ingestor = try start("ingestor", on: 2, of: network, arguments: ["--config", config], environment: environment)
        let processorArguments = { (name: String) in ["--config", config, "--elastic", "--instance", name] }
        let p3 = try start("processor", on: 3, of: network, arguments: processorArguments("h3"), environment: environment)
        let p4 = try start("processor", on: 4, of: network, arguments: processorArguments("h4"), environment: environment)
        defer { tap.signal(SIGKILL) }
        let both: Set<String> = ["processor/h3", "processor/h4"]

        // Across hosts: every ticker served, by both processors.
        let started = Self.nowNs()
        #expect(
            await allServed(tap, since: started, by: both, seconds: 30),
            "not served across hosts: \(owners(tap.stdout, since: started))\nh3: \(p3.stderr.suffix(1500))")
        try await Task.sleep(for: .seconds(2))
        let steady = Self.nowNs()
        try await Task.sleep(for: .seconds(2))
        #expect(Set(owners(tap.stdout, since: steady).values.flatMap { $0 }) == both)

        // Cut host 4's link: after 3 missed heartbeats host 3 serves everything.
        network.link(4, up: false)
        let cut = ContinuousClock.now
        let cutNs = Self.nowNs()
        #expect(
            await allServed(tap, since: cutNs + 500_000_000, by: ["processor/h3"], seconds: 15),
            "h3 did not take over: \(owners(tap.stdout, since: cutNs))\nh3: \(p3.stderr.suffix(1500))")
        #expect(ContinuousClock.now - cut < .seconds(10), "taking over took \(ContinuousClock.now - cut)")

        // Restore it: host 4 is heard again and serves a share by itself, no restart.
        network.link(4, up: true)
        let restoredNs = Self.nowNs()
        let rejoined = await tap.waitForOutput(seconds: 20) { text in
            self.owners(text, since: restoredNs).values.contains { $0.contains("processor/h4") }
        }
        #expect(rejoined, "h4 did not serve again after the link came back: \(p4.stderr.suffix(1500))")
        try await Task.sleep(for: .seconds(3))
        let settled = Self.nowNs()
        try await Task.sleep(for: .seconds(3))
        let afterRejoin = owners(tap.stdout, since: settled)
        #expect(Set(afterRejoin.keys) == Set(Self.tickers), "\(afterRejoin)")
        #expect(afterRejoin.values.allSatisfy { $0.count == 1 }, "still served twice after the rejoin: \(afterRejoin)")

        // Cut the ingestor's host for 3 s: trades and features resume by themselves.
        network.link(2, up: false)
        try await Task.sleep(for: .seconds(3))
        network.link(2, up: true)
        let ingestorBackNs = Self.nowNs()
        #expect(
            await allServed(tap, since: ingestorBackNs + 1_000_000_000, by: both, seconds: 20),
            "features did not resume after the ingestor's link came back: \(owners(tap.stdout, since: ingestorBackNs))")

        // Kill host 3's processes: host 4 serves everything.
        network.killAll(3)
        let killedNs = Self.nowNs()
        #expect(
            await allServed(tap, since: killedNs + 500_000_000, by: ["processor/h4"], seconds: 15),
            "h4 did not take over from the killed host: \(owners(tap.stdout, since: killedNs))")

        for process in [p4, ingestor] { #expect(await process.stop() == 0, "\(process.name): \(process.stderr.suffix(1500))") }
        await proxy.stop()
        _ = p3
    }
}
