import Bus
import Contracts
import Foundation
import ServiceKit

/// Tickwire's own path: `MessagePublisher` (envelope + protobuf encode, owner thread) to
/// `MessageSubscription` (owner thread, decode, sequence tracking), directly or through a
/// real bus-proxy process.
enum TickwirePath {
    /// Messages per second from a publisher to a subscriber: directly (no proxy), or
    /// through a real bus-proxy process, plain (`bus.security: none`) or `secured` (CURVE on
    /// both sides, the proxy's publish rights and producer check on every message).
    ///
    /// `metrics`: what a service adds to the path: the publisher counts each message per
    /// symbol (`tickwire_symbol_messages_total`) and the subscriber records its three latency
    /// histograms (``DeliveryLatency``), as ``ServiceEnvironment`` does.
    static func throughput(
        messages: Int, proxyExecutable: String?, secured: Bool = false, metrics: Bool = false
    ) async throws -> Double {
        let context = try Context()
        var options = SocketOptions()
        options.sendHighWaterMark = 0
        options.receiveHighWaterMark = 0
        options.lingerMilliseconds = 0
        // Secured, the publisher is the ingestor (which may publish ticks and heartbeats as itself).
        let service = secured ? "ingestor" : "bench"
        var publisherOptions = options
        var subscriberOptions = options

        var proxyProcess: Process?
        var keysDirectory: String?
        let publishEndpoint: String
        let subscribeEndpoint: String
        let publisher: MessagePublisher
        if let proxyExecutable {
            let ports = (try freePort(), try freePort())
            publishEndpoint = "tcp://127.0.0.1:\(ports.0)"
            subscribeEndpoint = "tcp://127.0.0.1:\(ports.1)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: proxyExecutable)
            process.arguments = ["--xsub-bind", publishEndpoint, "--xpub-bind", subscribeEndpoint, "--log-dir", "", "--log-level", "warning"]
            var environment = ProcessInfo.processInfo.environment
            environment["TICKWIRE_PUBLISH_ENDPOINT"] = publishEndpoint
            if secured {
                let keys = KeyStore(directory: NSTemporaryDirectory() + "tickwire-bench-keys-\(UUID().uuidString)")
                try keys.generateMissing(["bus-proxy", "ingestor", "bus-tap"])
                keysDirectory = keys.directory
                environment["TICKWIRE_KEYS_DIR"] = keys.directory
                environment["TICKWIRE_BUS_SECURITY"] = "curve"
                publisherOptions = try client(options, keys: keys, as: "ingestor")
                subscriberOptions = try client(options, keys: keys, as: "bus-tap")
            } else {
                environment["TICKWIRE_BUS_SECURITY"] = "none"
            }
            process.environment = environment
            try process.run()
            proxyProcess = process
            try await Task.sleep(for: .milliseconds(300))
            publisher = try await MessagePublisher(
                context: context, endpoint: publishEndpoint, producer: Producer(service: service, instance: "1"),
                options: publisherOptions, queueLimit: messages + 10_000)
        } else {
            publisher = try await MessagePublisher(
                context: context, endpoint: "tcp://127.0.0.1:*", producer: Producer(service: service, instance: "1"),
                bind: true, options: options, queueLimit: messages + 10_000)
            publishEndpoint = publisher.endpoint
            subscribeEndpoint = publisher.endpoint
        }
        defer {
            proxyProcess?.terminate()
            if let keysDirectory { try? FileManager.default.removeItem(atPath: keysDirectory) }
        }

        var configuration = Subscription.Configuration()
        configuration.socket = subscriberOptions
        let warmTopic = try Topic.status(service)
        let latency = metrics ? DeliveryLatency(service: "bench", instance: "metrics") : nil
        let symbolMessages = metrics ? SymbolMessageCounts(service: "bench", instance: "metrics") : nil
        let subscription = try await MessageSubscription(
            context: context, endpoint: subscribeEndpoint,
            patterns: [try TopicPattern("tick."), TopicPattern(exact: warmTopic)], configuration: configuration,
            onDelivery: { delivery, now in latency?.record(delivery, nowNs: now) })
        let topic = try Topic.tick("AAPL")
        let trade = BenchMessages.sampleTrade()

        // Slow joiner: warm up until the subscriber sees one status message.
        let warmer = Task {
            for _ in 0..<5_000 where !Task.isCancelled {
                var status = ServiceStatus()
                status.service = service
                publisher.publish(.status(status), on: warmTopic)
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        var iterator = subscription.makeAsyncIterator()
        while let delivery = try await iterator.next(), delivery.topic != warmTopic {}
        warmer.cancel()
        _ = await warmer.value

        let start = DispatchTime.now().uptimeNanoseconds
        let sender = Task.detached {
            if let symbolMessages {
                for _ in 0..<messages {
                    if case .queued = publisher.publish(.trade(trade), on: topic) {
                        symbolMessages.count(.trade(trade), on: topic)
                    }
                }
            } else {
                for _ in 0..<messages { publisher.publish(.trade(trade), on: topic) }
            }
        }
        var received = 0
        while received < messages, let delivery = try await iterator.next() {
            if delivery.topic == topic { received += 1 }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        await sender.value
        let gaps = subscription.statistics.sequence.missing
        await subscription.close()
        await publisher.close()
        await context.terminate()
        guard received == messages else { throw BenchError(description: "received \(received) of \(messages)") }
        if gaps > 0 { print("note: \(gaps) messages lost in sequence gaps") }
        return Double(messages) / elapsed
    }

    /// `base` as a CURVE client of bus-proxy with `identity`'s keys from `keys`.
    static func client(_ base: SocketOptions, keys: KeyStore, as identity: String) throws -> SocketOptions {
        let pair = try keys.keyPair(identity)
        var options = base
        options.curve = .client(publicKey: pair.publicKey, secretKey: pair.secretKey, serverKey: try keys.publicKey("bus-proxy"))
        return options
    }

    /// One-way latency samples in microseconds (receive time − publish time) at a fixed rate.
    static func latency(rate: Int, seconds: Double) async throws -> [Double] {
        let context = try Context()
        var options = SocketOptions()
        options.lingerMilliseconds = 0
        let publisher = try await MessagePublisher(
            context: context, endpoint: "tcp://127.0.0.1:*", producer: Producer(service: "bench", instance: "2"),
            bind: true, options: options)
        var configuration = Subscription.Configuration()
        configuration.socket = options
        let subscription = try await MessageSubscription(
            context: context, endpoint: publisher.endpoint, patterns: [try TopicPattern("tick.")],
            configuration: configuration)
        let topic = try Topic.tick("AAPL")
        let trade = BenchMessages.sampleTrade()
        let total = Int(Double(rate) * seconds)
        let sender = Task.detached {
            let interval = 1.0 / Double(rate)
            let clock = ContinuousClock()
            let start = clock.now
            try? await Task.sleep(for: .milliseconds(200))  // subscriber joins
            for index in 0..<total {
                let due = start + .milliseconds(200) + .seconds(Double(index) * interval)
                if due > clock.now { try? await Task.sleep(until: due, tolerance: .microseconds(50)) }
                publisher.publish(.trade(trade), on: topic)
            }
        }
        var samples: [Double] = []
        samples.reserveCapacity(total)
        // Bounded: if messages go missing, the watchdog ends the iteration.
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(seconds + 3))
            await subscription.close()
        }
        for try await delivery in subscription where samples.count < total {
            samples.append(Double(WallClock.nanoseconds() - delivery.publishTimeNs) / 1_000)
            if samples.count == total { break }
        }
        watchdog.cancel()
        await sender.value
        await subscription.close()
        await publisher.close()
        await context.terminate()
        return samples
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw BenchError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The Bus layer alone (owner threads and hand-over, no envelope, no protobuf): tells the
/// cost of Tickwire's threading from the cost of its codec.
enum BusOnlyPath {
    static func throughput(messages: Int, payloadSize: Int) async throws -> Double {
        let context = try Context()
        var options = SocketOptions()
        options.sendHighWaterMark = 0
        options.receiveHighWaterMark = 0
        options.lingerMilliseconds = 0
        let publisher = try await Publisher(
            context: context, endpoint: "tcp://127.0.0.1:*", bind: true, options: options, queueLimit: messages + 10_000)
        var configuration = Subscription.Configuration()
        configuration.socket = options
        let subscription = try await Subscription(
            context: context, endpoint: publisher.endpoint, prefixes: [[]], configuration: configuration)
        let topic = try Topic.tick("AAPL").wire
        let warm = try Topic.status("bench").wire
        let payload = [UInt8](repeating: 0x42, count: payloadSize)
        let warmer = Task {
            for _ in 0..<5_000 where !Task.isCancelled {
                publisher.publish(topic: warm) { _ in [0] }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        var iterator = subscription.makeAsyncIterator()
        while let message = try await iterator.next(), message.topic != warm {}
        warmer.cancel()
        _ = await warmer.value
        let start = DispatchTime.now().uptimeNanoseconds
        let sender = Task.detached {
            for _ in 0..<messages { publisher.publish(topic: topic) { _ in payload } }
        }
        var received = 0
        while received < messages, let message = try await iterator.next() {
            if message.topic == topic { received += 1 }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        await sender.value
        await subscription.close()
        await publisher.close()
        await context.terminate()
        guard received == messages else { throw BenchError(description: "bus-only received \(received) of \(messages)") }
        return Double(messages) / elapsed
    }
}
