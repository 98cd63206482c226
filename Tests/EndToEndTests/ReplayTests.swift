import Bus
import Contracts
import Foundation
import ServiceKit
import Synchronization
import TestSupport
import Testing

/// `tickwire replay` and `bus-tap --journal` as processes, against a real bus-proxy and journal:
/// a recorded session comes back once, in order, byte for byte, at the pace asked for.
@Suite("Replay", .serialized, .timeLimit(.minutes(3)))
struct ReplayTests {
    /// One journaled message: its frames as recorded, and what they decode to.
    struct Recorded {
        var topic: [UInt8]
        var envelope: [UInt8]
        var delivery: Delivery
    }

    /// One message a test subscriber got, and when.
    struct Arrival: Sendable {
        var raw: RawMessage
        var at: ContinuousClock.Instant
    }

    /// Collects what a raw subscription receives, from a task of its own.
    final class Listener: Sendable {
        let subscription: Subscription
        let arrivals = Mutex<[Arrival]>([])
        let reader = Mutex<Task<Void, Never>?>(nil)

        init(context: Context, bus: TestBus, prefixes: [String]) async throws {
            var configuration = Subscription.Configuration()
            configuration.socket = try bus.options(as: "bus-tap")
            subscription = try await Subscription(
                context: context, endpoint: bus.subscribeEndpoint, prefixes: prefixes.map { Array($0.utf8) },
                configuration: configuration)
            let task = Task { [self] in
                do {
                    for try await message in subscription {
                        let now = ContinuousClock.now
                        arrivals.withLock { $0.append(Arrival(raw: message, at: now)) }
                    }
                } catch {}
            }
            reader.withLock { $0 = task }
        }

        var count: Int { arrivals.withLock { $0.count } }

        /// Waits (bounded) for `expected` messages, then stops and returns what came.
        func finish(expecting expected: Int, seconds: Double = 15) async -> [Arrival] {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while count < expected && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            // Anything extra (a duplicate) would arrive right behind.
            try? await Task.sleep(for: .milliseconds(300))
            await subscription.close()
            await reader.withLock { $0 }?.value
            return arrivals.withLock { $0 }
        }
    }

    func startJournal(_ bus: TestBus) async throws -> RunningProcess {
        let journal = try RunningProcess("journal", arguments: [], environment: bus.environment)
        #expect(await journal.waitForOutput(seconds: 15) { $0.contains("catch-up on") }, "journal did not start: \(journal.stderr)")
        return journal
    }

    static let symbols = ["AAPL", "MSFT", "NVDA", "BRK.B", "SPY"]
    /// 2025-03-14T14:30:00Z: the recorded session's exchange time, far from the wall clock.
    static let sessionStartNs: Int64 = 1_741_962_600_000_000_000

    /// Publishes a session as the ingestor (trades on several tickers and a bar now and then,
    /// event times from ``sessionStartNs``) in `rounds` bursts of 10, `pause` apart, and
    /// `signals` signals as the signal-generator; returns the range around it.
    func recordSession(
        _ bus: TestBus, context: Context, rounds: Int, pause: Duration, signals: Int = 0
    ) async throws -> (fromNs: Int64, toNs: Int64) {
        let ingestor = try await MessagePublisher(
            context: context, endpoint: bus.publishEndpoint, producer: Producer(service: "ingestor", instance: "rec"),
            options: try bus.options(as: "ingestor"))
        let generator = try await MessagePublisher(
            context: context, endpoint: bus.publishEndpoint,
            producer: Producer(service: "signal-generator", instance: "rec"), options: try bus.options(as: "signal-generator"))
        try await Task.sleep(for: .milliseconds(800))
        let fromNs = WallClock.nanoseconds()
        var index = 0
        for round in 0..<rounds {
            for _ in 0..<10 {
                let symbol = Self.symbols[index % Self.symbols.count]
                let eventTime = Self.sessionStartNs + Int64(index) * 10_000_000
                if index % 50 == 49 {
                    var bar = Bar()
                    bar.symbol = symbol
                    bar.startTimeNs = eventTime - 60_000_000_000
                    bar.endTimeNs = eventTime
                    bar.open = 100
                    bar.high = 101.5
                    bar.low = 99.25
                    bar.close = 100.75
                    bar.volume = 12_345
                    bar.tradeCount = 42
                    bar.origin = .live
                    bar.provider = "recorded"
                    ingestor.publish(.bar(bar), on: try Topic.bar(symbol), eventTime: eventTime)
                } else {
                    var trade = Trade()
                    trade.symbol = symbol
                    trade.price = 100 + Double(index) / 100
                    trade.size = Double(index % 7 + 1)
                    trade.exchange = "X"
                    trade.tradeID = "r\(index)"
                    trade.conditions = index % 3 == 0 ? ["@", "T"] : []
                    trade.provider = "recorded"
                    ingestor.publish(.trade(trade), on: try Topic.tick(symbol), eventTime: eventTime)
                }
                index += 1
            }
            if round < signals {
                var signal = Signal()
                signal.symbol = "AAPL"
                signal.action = .buy
                signal.confidence = 0.7
                signal.price = 100
                signal.id = "AAPL-\(round)-BUY"
                generator.publish(.signal(signal), on: try Topic.signal("AAPL"))
            }
            if round < rounds - 1 { try await Task.sleep(for: pause) }
        }
        await ingestor.close()
        await generator.close()
        return (fromNs - 5_000_000, WallClock.nanoseconds() + 5_000_000)
    }

    /// What the journal kept on `patterns` in the range, raw and decoded, waiting (bounded)
    /// until it holds `expected` messages.
    func journaled(
        _ bus: TestBus, context: Context, patterns: [String], range: (fromNs: Int64, toNs: Int64), expected: Int
    ) async throws -> [Recorded] {
        let client = JournalClient(
            context: context, endpoint: bus.journalEndpoint, options: try bus.options(as: "bus-tap", server: "journal"),
            timeout: .seconds(5), requester: "test")
        let deadline = ContinuousClock.now + .seconds(15)
        var recorded: [Recorded] = []
        repeat {
            recorded = []
            var request = JournalRequest.patterns(
                try patterns.map { try TopicPattern($0) }, fromNs: range.fromNs, toNs: range.toNs)
            while true {
                let reply = try await client.page(request)
                for message in reply.messages {
                    let raw = RawMessage(topic: Array(message.topic), payload: Array(message.envelope))
                    recorded.append(Recorded(topic: raw.topic, envelope: raw.payload, delivery: try Codec.decode(raw)))
                }
                guard reply.nextID != 0, !reply.messages.isEmpty else { break }
                request.afterID = reply.nextID
            }
            if recorded.count >= expected { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        return recorded
    }

    func iso(_ nanoseconds: Int64) -> String { ISO8601Instant.format(nanoseconds: nanoseconds) }

    func replay(_ bus: TestBus, _ arguments: [String]) throws -> RunningProcess {
        try RunningProcess("tickwire", arguments: ["replay"] + arguments, environment: bus.environment)
    }

    /// Checks that `arrivals` are `recorded` again, in order: same topics, byte-identical
    /// payloads, original event times, producer tickwire/replay with its own sequence numbers.
    func expectReplayed(_ arrivals: [Arrival], of recorded: [Recorded]) throws {
        #expect(arrivals.count == recorded.count, "\(arrivals.count) replayed of \(recorded.count) recorded")
        var sequences: [[UInt8]: UInt64] = [:]
        for (index, (arrival, original)) in zip(arrivals, recorded).enumerated() {
            let replayed = try Codec.decode(arrival.raw)
            #expect(arrival.raw.topic == original.topic, "message \(index): topic")
            let payload = try #require(Self.payloadField(arrival.raw.payload), "message \(index): no payload field")
            #expect(payload == Self.payloadField(original.envelope), "message \(index): payload bytes differ")
            #expect(replayed.payload == original.delivery.payload, "message \(index): payload")
            #expect(replayed.eventTimeNs == original.delivery.eventTimeNs, "message \(index): event time")
            #expect(replayed.producer.service == "tickwire" && replayed.producer.instance == "replay", "\(replayed.producer)")
            #expect(replayed.publishTimeNs > original.delivery.publishTimeNs, "message \(index): publish time not new")
            let expected = (sequences[original.topic] ?? 0) + 1
            sequences[original.topic] = expected
            #expect(replayed.sequence == expected, "message \(index): sequence \(replayed.sequence), expected \(expected)")
        }
    }

    /// The field number and bytes of an envelope's payload (fields 10–18), as sent.
    static func payloadField(_ bytes: [UInt8]) -> [UInt8]? {
        var index = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        var found: [UInt8]?
        while index < bytes.count {
            guard let tag = varint() else { return nil }
            switch tag & 7 {
            case 0: guard varint() != nil else { return nil }
            case 1: index += 8
            case 5: index += 4
            case 2:
                guard let length = varint(), length <= UInt64(bytes.count - index) else { return nil }
                if (10...18).contains(tag >> 3) {
                    found = [UInt8(tag >> 3)] + bytes[index..<(index + Int(length))]
                }
                index += Int(length)
            default: return nil
            }
        }
        return found
    }

    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test("a recorded session replays once, in order, byte for byte, at --speed 3 and as fast as possible at --speed 0")
    func replaysSession() async throws {
        let bus = try TestBus()
        let proxy = try await startProxy(bus)
        let journal = try await startJournal(bus)
        try await Task.sleep(for: .seconds(1))
        try await withContext { context in
            // 300 messages (trades on five tickers, a bar every 50) over ~3 s, and signals,
            // which the replay identity may not publish.
            let range = try await recordSession(bus, context: context, rounds: 30, pause: .milliseconds(100), signals: 4)
            let recorded = try await journaled(bus, context: context, patterns: ["tick.", "bar."], range: range, expected: 300)
            #expect(recorded.count == 300)
            #expect(recorded.contains { $0.topic == (try? Topic.bar("SPY").wire) })
            let first = try #require(recorded.first).delivery.publishTimeNs
            let last = try #require(recorded.last).delivery.publishTimeNs
            let recordedSpan = Double(last - first) / 1e9
            #expect(recordedSpan > 2.5, "the session spans \(recordedSpan) s")

            // --speed 3: about a third of the recorded span.
            let listener = try await Listener(context: context, bus: bus, prefixes: ["tick.", "bar.", "signal."])
            try await Task.sleep(for: .milliseconds(800))
            let paced = try replay(bus, ["--from", iso(range.fromNs), "--to", iso(range.toNs), "--speed", "3"])
            let status = await paced.wait(seconds: 30)
            if status == nil { await paced.stop() }
            #expect(status == 0, "tickwire replay: \(paced.stderr)")
            let arrivals = await listener.finish(expecting: recorded.count)
            try expectReplayed(arrivals, of: recorded)
            let span = seconds(try #require(arrivals.last).at - (try #require(arrivals.first).at))
            let expected = recordedSpan / 3
            #expect(span >= 0.5 * expected && span <= 3 * expected, "replayed in \(span) s; expected about \(expected) s")
            #expect(paced.stderr.contains("read 300, published 300"), "\(paced.stderr)")
            print("replay --speed 3: \(recorded.count) messages, recorded \(recordedSpan) s, replayed in \(span) s")

            // --speed 0, with signals asked for: they are skipped and counted, said once.
            let fast = try await Listener(context: context, bus: bus, prefixes: ["tick.", "bar.", "signal."])
            try await Task.sleep(for: .milliseconds(800))
            let started = ContinuousClock.now
            let unpaced = try replay(
                bus, ["--from", iso(range.fromNs), "--to", iso(range.toNs), "--speed", "0", "--topics", "tick.", "bar.", "signal."])
            let fastStatus = await unpaced.wait(seconds: 30)
            if fastStatus == nil { await unpaced.stop() }
            let elapsed = seconds(ContinuousClock.now - started)
            #expect(fastStatus == 0, "tickwire replay --speed 0: \(unpaced.stderr)")
            let fastArrivals = await fast.finish(expecting: recorded.count)
            try expectReplayed(fastArrivals, of: recorded)
            let fastSpan = seconds(try #require(fastArrivals.last).at - (try #require(fastArrivals.first).at))
            #expect(fastSpan < recordedSpan / 5, "--speed 0 took \(fastSpan) s for \(recordedSpan) s recorded")
            #expect(elapsed < recordedSpan + 5, "the process took \(elapsed) s")
            #expect(unpaced.stderr.contains("read 304, published 300, skipped 4 (not_permitted 4)"), "\(unpaced.stderr)")
            let notices = unpaced.stderr.components(separatedBy: "may not publish kind 'signal'").count - 1
            #expect(notices == 1, "\(unpaced.stderr)")
            print(unpaced.stderr.split(separator: "\n").first { $0.hasPrefix("tickwire replay: done") } ?? "")

            // SIGTERM mid-way (at half speed, after the first progress line): a clean stop, said so.
            let slow = try replay(bus, ["--from", iso(range.fromNs), "--to", iso(range.toNs), "--speed", "0.5"])
            #expect(await slow.waitForOutput(seconds: 15) { $0.contains(" published, ") }, "\(slow.stderr)")
            let stopping = ContinuousClock.now
            slow.signal(SIGTERM)
            let slowStatus = await slow.wait(seconds: 15)
            if slowStatus == nil { await slow.stop() }
            #expect(slowStatus == 0, "\(slow.stderr)")
            #expect(seconds(ContinuousClock.now - stopping) < 5)
            #expect(slow.stderr.contains("tickwire replay: interrupted: read "), "\(slow.stderr)")
        }
        #expect(await journal.stop() == 0, "\(journal.stderr)")
        await proxy.stop()
    }

    @Test("bus-tap --journal --from prints the recorded messages as JSON lines and exits 0")
    func tapJournal() async throws {
        let bus = try TestBus()
        let proxy = try await startProxy(bus)
        let journal = try await startJournal(bus)
        try await Task.sleep(for: .seconds(1))
        try await withContext { context in
            let range = try await recordSession(bus, context: context, rounds: 6, pause: .milliseconds(20))
            let recorded = try await journaled(bus, context: context, patterns: ["tick."], range: range, expected: 59)
            #expect(recorded.count == 59)
            let tap = try RunningProcess(
                "bus-tap", arguments: ["tick.", "--journal", "--from", iso(range.fromNs)], environment: bus.environment)
            let status = await tap.wait(seconds: 30)
            if status == nil { await tap.stop() }
            #expect(status == 0, "bus-tap --journal: \(tap.stderr)")
            let lines = jsonLines(tap.stdout)
            #expect(lines.count == recorded.count, "\(lines.count) lines for \(recorded.count) recorded: \(tap.stderr)")
            for (line, original) in zip(lines, recorded) {
                let delivery = original.delivery
                #expect(line["topic"] as? String == delivery.topic.description)
                #expect(line["producer"] as? String == "ingestor/rec")
                #expect((line["seq"] as? NSNumber)?.uint64Value == delivery.sequence)
                #expect((line["event_time_ns"] as? NSNumber)?.int64Value == delivery.eventTimeNs)
                #expect((line["publish_time_ns"] as? NSNumber)?.int64Value == delivery.publishTimeNs)
                #expect(line["kind"] as? String == "trade")
                guard case .trade(let trade) = delivery.payload else {
                    Issue.record("not a trade: \(delivery)")
                    continue
                }
                let fields = line["trade"] as? [String: Any]
                #expect((fields?["price"] as? NSNumber)?.doubleValue == trade.price, "\(line)")
                #expect(fields?["trade_id"] as? String == trade.tradeID, "\(line)")
            }
            let summary = tapSummary(tap.stderr)
            #expect(summary?["complete"] as? Bool == true, "\(tap.stderr)")
            #expect((summary?["received"] as? NSNumber)?.intValue == recorded.count, "\(tap.stderr)")

            // --to bounds it; --count stops early.
            let bounded = try RunningProcess(
                "bus-tap", arguments: ["tick.", "--journal", "--from", iso(range.fromNs), "--to", iso(range.toNs), "--count", "7"],
                environment: bus.environment)
            #expect(await bounded.wait(seconds: 30) == 0, "\(bounded.stderr)")
            #expect(jsonLines(bounded.stdout).count == 7)
        }
        #expect(await journal.stop() == 0, "\(journal.stderr)")
        await proxy.stop()
    }

    @Test("bad arguments exit 78 naming the option; no journal exits 1 within the timeout, saying where it asked")
    func errors() async throws {
        let bus = try TestBus()
        let valid = "2025-03-14T14:30:00Z"
        for (arguments, mention) in [
            (["--from", valid, "--to", "2025-03-14T25:99:00Z"], "--to"),
            (["--from", valid, "--to", "2025-03-14T14:00:00Z"], "must be after --from"),
            (["--from", "yesterday", "--to", valid], "--from"),
            (["--from", valid, "--to", "2025-03-14T15:00:00Z", "--speed", "nan"], "--speed"),
            (["--from", valid, "--to", "2025-03-14T15:00:00Z", "--speed", "-2"], "--speed"),
            (["--from", valid, "--to", "2025-03-14T15:00:00Z", "--speed", "10001"], "--speed"),
            (["--from", valid, "--to", "2025-03-14T15:00:00Z", "--topics", "nokind"], "--topics"),
        ] {
            let process = try replay(bus, arguments)
            let status = await process.wait(seconds: 20)
            if status == nil { await process.stop() }
            #expect(status == 78, "\(arguments): \(process.stderr)")
            #expect(process.stderr.contains(mention), "\(arguments): \(process.stderr)")
        }
        let tapBad = try RunningProcess("bus-tap", arguments: ["--journal", "--from", "soon"], environment: bus.environment)
        #expect(await tapBad.wait(seconds: 20) == 78, "\(tapBad.stderr)")

        // No journal (and no proxy) on this bus: a 2 s request timeout, then exit 1.
        let config = try writeConfig(#"{"journal": {"request_timeout_seconds": 2}}"#)
        for (name, arguments) in [
            ("tickwire", ["replay", "--config", config, "--from", valid, "--to", "2025-03-14T15:00:00Z"]),
            ("bus-tap", ["--config", config, "--journal", "--from", valid]),
        ] {
            let started = ContinuousClock.now
            let process = try RunningProcess(name, arguments: arguments, environment: bus.environment)
            let status = await process.wait(seconds: 20)
            if status == nil { await process.stop() }
            #expect(status == 1, "\(name): \(process.stderr)")
            #expect(process.stderr.contains(bus.journalEndpoint), "\(name): \(process.stderr)")
            #expect(process.stderr.contains("`journal` service must be running"), "\(name): \(process.stderr)")
            #expect(seconds(ContinuousClock.now - started) < 12, "\(name) took too long to give up")
        }
    }
}
