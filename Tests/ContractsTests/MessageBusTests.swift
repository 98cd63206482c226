import Bus
import Contracts
import Testing
import TestSupport

/// Reads deliveries until a fence arrives. Returns the deliveries that are not control
/// messages and how many control messages (late warm-ups and the fence) went by.
func readUntilFence(
    _ iterator: inout MessageSubscription.Iterator,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> (deliveries: [Delivery], controls: Int) {
    var deliveries: [Delivery] = []
    var controls = 0
    while let delivery = try await iterator.next() {
        if Fixtures.isControl(delivery) {
            controls += 1
            if Fixtures.isFence(delivery) { return (deliveries, controls) }
        } else {
            deliveries.append(delivery)
        }
    }
    let error = EndedEarly(expected: deliveries.count + 1, received: deliveries.count)
    Issue.record("the subscription ended before the fence", sourceLocation: sourceLocation)
    throw error
}

/// Subscribes `patterns` plus the control topic and warms the path up with `publisher`.
func warmedSubscription(
    context: Context,
    endpoint: String,
    patterns: [String],
    publisher: MessagePublisher,
    onIssue: @escaping @Sendable (SubscriptionIssue) -> Void = { _ in }
) async throws -> (MessageSubscription, MessageSubscription.Iterator) {
    let subscription = try await MessageSubscription(
        context: context,
        endpoint: endpoint,
        patterns: try patterns.map { try TopicPattern($0) } + [TopicPattern(exact: Fixtures.controlTopic)],
        onIssue: onIssue)
    var iterator = subscription.makeAsyncIterator()
    try await warmUp(
        &iterator,
        publish: { publisher.publish(Fixtures.control(.starting), on: Fixtures.controlTopic) },
        giveUp: { await subscription.close() },
        isWarmUp: Fixtures.isControl)
    return (subscription, iterator)
}

@Suite("MessagePublisher and MessageSubscription on a real bus", .timeLimit(.minutes(1)))
struct MessageBusTests {
    @Test("through a proxy each exact subscription gets only its own topic; tick. gets every tick")
    func exactAndPrefixSubscriptions() async throws {
        try await withContext { context in
            let proxy = try await Proxy(context: context, frontend: loopbackWildcard, backend: loopbackWildcard)
            let publisher = try await MessagePublisher(
                context: context, endpoint: proxy.frontend, producer: Fixtures.producer("ingestor"))
            let (aaplSubscription, aaplWarmed) = try await warmedSubscription(
                context: context, endpoint: proxy.backend, patterns: ["tick.AAPL"], publisher: publisher)
            let (aaplxSubscription, aaplxWarmed) = try await warmedSubscription(
                context: context, endpoint: proxy.backend, patterns: ["tick.AAPLX"], publisher: publisher)
            let (allSubscription, allWarmed) = try await warmedSubscription(
                context: context, endpoint: proxy.backend, patterns: ["tick."], publisher: publisher)
            let (brkSubscription, brkWarmed) = try await warmedSubscription(
                context: context, endpoint: proxy.backend, patterns: ["tick.BRK.B"], publisher: publisher)
            var aapl = aaplWarmed
            var aaplx = aaplxWarmed
            var all = allWarmed
            var brk = brkWarmed
            let subscriptions = [aaplSubscription, aaplxSubscription, allSubscription, brkSubscription]
            let watchdog = closeAfter(seconds: 30) { for subscription in subscriptions { await subscription.close() } }

            let plan = ["AAPL", "AAPLX", "BRK.B", "AAPL", "BRK.BX", "AAPLX", "AAPL", "BRK.B"]
            for symbol in plan {
                publisher.publish(Fixtures.trade(symbol), on: try Topic.tick(symbol))
            }
            // Not a tick: even `tick.` must not see it.
            publisher.publish(PayloadCase.bar.payload, on: try Topic.bar("AAPL"))
            publisher.publish(Fixtures.control(.stopping), on: Fixtures.controlTopic)

            func summary(_ deliveries: [Delivery]) -> [String] {
                deliveries.map { "\($0.topic)#\($0.envelope.sequence)" }
            }
            #expect(summary(try await readUntilFence(&aapl).deliveries) == ["tick.AAPL#1", "tick.AAPL#2", "tick.AAPL#3"])
            #expect(summary(try await readUntilFence(&aaplx).deliveries) == ["tick.AAPLX#1", "tick.AAPLX#2"])
            #expect(summary(try await readUntilFence(&brk).deliveries) == ["tick.BRK.B#1", "tick.BRK.B#2"])
            #expect(
                summary(try await readUntilFence(&all).deliveries) == [
                    "tick.AAPL#1", "tick.AAPLX#1", "tick.BRK.B#1", "tick.AAPL#2", "tick.BRK.BX#1", "tick.AAPLX#2",
                    "tick.AAPL#3", "tick.BRK.B#2",
                ])
            for subscription in subscriptions {
                #expect(subscription.statistics.rejectedTotal == 0)
                #expect(subscription.statistics.sequence.gaps == 0)
                #expect(subscription.statistics.sequence.duplicates == 0)
            }
            watchdog.cancel()
            await publisher.close()
            for subscription in subscriptions { await subscription.close() }
            await proxy.close()
        }
    }

    @Test("the publisher stamps schema version 1, its producer, per-topic sequences and both times")
    func envelopeStamping() async throws {
        try await withContext { context in
            let producer = Producer(service: "ingestor", instance: "sim-1", startedAt: Fixtures.time - 1_234)
            let publisher = try await MessagePublisher(
                context: context, endpoint: loopbackWildcard, producer: producer, bind: true,
                clock: { Fixtures.time })
            #expect(publisher.endpoint.hasPrefix("tcp://127.0.0.1:"))
            let (subscription, warmed) = try await warmedSubscription(
                context: context, endpoint: publisher.endpoint, patterns: ["tick.", "status.ingestor"],
                publisher: publisher)
            var iterator = warmed
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }

            let aapl = try Topic.tick("AAPL")
            #expect(publisher.publish(Fixtures.trade("AAPL"), on: aapl) == .queued(sequence: 1))
            #expect(publisher.publish(Fixtures.trade("AAPL"), on: aapl, eventTime: Fixtures.time - 77) == .queued(sequence: 2))
            #expect(publisher.publish(PayloadCase.status.payload, on: try Topic.status("ingestor")) == .queued(sequence: 1))
            publisher.publish(Fixtures.control(.stopping), on: Fixtures.controlTopic)

            let deliveries = try await readUntilFence(&iterator).deliveries
            try #require(deliveries.count == 3)
            for delivery in deliveries {
                #expect(delivery.envelope.schemaVersion == 1)
                #expect(delivery.envelope.producer == producer)
                #expect(delivery.envelope.publishTimeNs == Fixtures.time)
            }
            #expect(deliveries.map(\.envelope.sequence) == [1, 2, 1])
            #expect(deliveries.map(\.envelope.eventTimeNs) == [Fixtures.time, Fixtures.time - 77, Fixtures.time])
            #expect(deliveries[0].envelope.payload == Fixtures.trade("AAPL"))
            #expect(deliveries[2].envelope.payload == PayloadCase.status.payload)
            #expect(deliveries[2].topic.description == "status.ingestor")
            #expect(producer.displayName == "ingestor/sim-1")
            watchdog.cancel()
            await publisher.close()
            #expect(publisher.statistics.sent == publisher.statistics.queued)
            await subscription.close()
        }
    }
}

@Suite("MessageSubscription skips and counts what it cannot use", .timeLimit(.minutes(1)))
struct MessageSubscriptionIssueTests {
    /// A raw publisher bound on loopback and a subscription to `patterns` (plus the control
    /// topic) that has seen a warm-up from it.
    func rawBus(
        context: Context,
        patterns: [String],
        issues: Collector<SubscriptionIssue>
    ) async throws -> (RawPublisher, MessageSubscription, MessageSubscription.Iterator, Counter) {
        let raw = try await RawPublisher(context: context, endpoint: loopbackWildcard, bind: true)
        let subscription = try await MessageSubscription(
            context: context,
            endpoint: raw.endpoint,
            patterns: try patterns.map { try TopicPattern($0) } + [TopicPattern(exact: Fixtures.controlTopic)],
            onIssue: { issues.append($0) })
        let controlSequence = Counter()
        var iterator = subscription.makeAsyncIterator()
        try await warmUp(
            &iterator,
            publish: { raw.send(Fixtures.controlFrames(.starting, sequence: controlSequence.next())) },
            giveUp: { await subscription.close() },
            isWarmUp: Fixtures.isControl)
        return (raw, subscription, iterator, controlSequence)
    }

    @Test("schema version 2 is rejected and counted under version; the subscription keeps going")
    func unknownSchemaVersion() async throws {
        try await withContext { context in
            let issues = Collector<SubscriptionIssue>()
            let (raw, subscription, warmed, control) = try await rawBus(
                context: context, patterns: ["tick.AAPL"], issues: issues)
            var iterator = warmed
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            let aapl = try Topic.tick("AAPL")

            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1, schemaVersion: 2)))
            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL", price: 1), sequence: 2)))
            raw.send(Fixtures.controlFrames(.stopping, sequence: control.next()))
            let first = try await readUntilFence(&iterator)
            #expect(first.deliveries.map(\.envelope.sequence) == [2])
            #expect(first.deliveries.first?.envelope.payload == Fixtures.trade("AAPL", price: 1))
            #expect(subscription.statistics.rejected == ["version": 1])
            let version = DecodeError.unknownSchemaVersion(2, topic: "tick.AAPL")
            #expect(issues.values == [.rejected(Rejection(.version, version.description))])

            // Still running: a later version-1 message arrives.
            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL", price: 2), sequence: 3)))
            raw.send(Fixtures.controlFrames(.stopping, sequence: control.next()))
            let second = try await readUntilFence(&iterator)
            #expect(second.deliveries.map(\.envelope.sequence) == [3])
            #expect(subscription.statistics.rejected == ["version": 1])
            #expect(subscription.statistics.sequence.gaps == 0)
            watchdog.cancel()
            await raw.close()
            await subscription.close()
        }
    }

    @Test("malformed frames, topics and payloads are rejected and counted by reason")
    func skippedByReason() async throws {
        try await withContext { context in
            let issues = Collector<SubscriptionIssue>()
            let (raw, subscription, warmed, control) = try await rawBus(
                context: context, patterns: ["tick."], issues: issues)
            var iterator = warmed
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            let aapl = try Topic.tick("AAPL")
            let good = try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1))

            raw.send([aapl.wire])  // one frame
            raw.send(good + [[1]])  // three frames
            raw.send([Array("tick.AAPL".utf8), good[1]])  // no NUL (still matches the tick. prefix)
            raw.send([aapl.wire, [0x12, 0x05, 0x01]])  // not protobuf
            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(PayloadCase.bar.payload, sequence: 1)))  // wrong kind
            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(nil, sequence: 1)))  // no payload
            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1, schemaVersion: 9)))
            raw.send(good)
            raw.send(Fixtures.controlFrames(.stopping, sequence: control.next()))

            let read = try await readUntilFence(&iterator)
            #expect(read.deliveries.count == 1)
            let statistics = subscription.statistics
            #expect(statistics.rejected == ["frames": 2, "topic": 1, "undecodable": 3, "version": 1])
            #expect(statistics.rejectedTotal == 7)
            // Warm-up seen + late warm-ups and fence + the good trade.
            #expect(statistics.delivered == UInt64(1 + read.controls + 1))
            let rejected = issues.values.compactMap { issue -> RejectReason? in
                if case .rejected(let rejection) = issue { return rejection.reason }
                return nil
            }
            #expect(rejected == [.frames, .frames, .topic, .undecodable, .undecodable, .undecodable, .version])
            let oneFrame = DecodeError.wrongFrameCount(1)
            #expect(issues.values.first == .rejected(Rejection(.frames, oneFrame.description)))
            let noTerminator = DecodeError.badTopic(.missingTerminator("tick.AAPL"))
            #expect(issues.values.dropFirst(2).first == .rejected(Rejection(.topic, noTerminator.description)))
            watchdog.cancel()
            await raw.close()
            await subscription.close()
        }
    }

    @Test("sequence 1, 2, 5 is one gap of 2; a repeat is a duplicate; a restarted producer starts afresh")
    func gapsAndDuplicates() async throws {
        try await withContext { context in
            let issues = Collector<SubscriptionIssue>()
            let (raw, subscription, warmed, control) = try await rawBus(
                context: context, patterns: ["tick.AAPL"], issues: issues)
            var iterator = warmed
            let watchdog = closeAfter(seconds: 30) { await subscription.close() }
            let aapl = try Topic.tick("AAPL")
            let producer = Fixtures.producer("ingestor", instance: "a")
            for sequence in [1, 2, 5, 5, 6] as [UInt64] {
                raw.send(try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL"), sequence: sequence, producer: producer)))
            }
            // Same service and instance, new start time: a new stream, so 1 is not a duplicate.
            let restarted = Producer(service: "ingestor", instance: "a", startedAt: Fixtures.time + 1)
            raw.send(try Fixtures.frames(aapl, Fixtures.envelope(Fixtures.trade("AAPL"), sequence: 1, producer: restarted)))
            raw.send(Fixtures.controlFrames(.stopping, sequence: control.next()))

            let read = try await readUntilFence(&iterator)
            // Duplicates are reported but still delivered.
            #expect(read.deliveries.map(\.envelope.sequence) == [1, 2, 5, 5, 6, 1])
            let stream = try #require(read.deliveries.first).stream
            #expect(stream.service == "ingestor")
            #expect(stream.instance == "a")
            #expect(stream.startedAt == Fixtures.time)
            #expect(stream.topic == aapl)
            #expect(read.deliveries.last?.stream.startedAt == Fixtures.time + 1)
            #expect(issues.values == [.gap(stream: stream, missing: 2), .duplicate(stream: stream, sequence: 5)])
            let totals = subscription.statistics.sequence
            #expect(totals.gaps == 1)
            #expect(totals.missing == 2)
            #expect(totals.duplicates == 1)
            #expect(subscription.statistics.rejectedTotal == 0)
            watchdog.cancel()
            await raw.close()
            await subscription.close()
        }
    }
}
