import Bus
import Contracts
import Foundation
import ServiceKit
import Testing

@testable import BusFuzz

@Suite("bus-fuzz: frames and the subscription table")
struct BusFuzzTests {
    static let demoConfig: TickwireConfig = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/demo.json").path
        return (try? ConfigLoader(environment: [:]).load(file: path).config) ?? TickwireConfig()
    }()

    static func settings() throws -> FrameFactory.Settings {
        let config = demoConfig
        return FrameFactory.Settings(config: config, listeners: try SubscriptionTable.listeners(config: config))
    }

    @Test("every frame made is refused by a fresh decoder and validator, for the reason given")
    func everyFrameIsRefused() throws {
        let settings = try Self.settings()
        var factory = FrameFactory(settings: settings, seed: 7)
        var validator = EnvelopeValidator(limits: settings.limits)
        var origins = Set<FuzzFrame.Origin>()
        var reasons = Set<RejectReason>()
        let started = ContinuousClock.now
        for _ in 0..<3_000 {
            let now = WallClock.nanoseconds()
            let (frame, reason) = factory.next(now: now)
            origins.insert(frame.origin)
            reasons.insert(reason)
            #expect(frame.frames.allSatisfy { $0.count <= settings.maxFrameBytes })
            let refused: RejectReason?
            do {
                refused = validator.check(try Codec.decode(frame.raw), now: now)?.reason
            } catch {
                refused = error.reason
            }
            #expect(refused == reason, "\(frame.origin): \(printable(frame.topic))")
        }
        let elapsed = ContinuousClock.now - started
        // Every kind of frame but the oversize ones (made apart), and most reasons.
        #expect(origins == Set(FuzzFrame.Origin.allCases).subtracting([.oversize]), "\(origins)")
        #expect(reasons.count >= 10, "\(reasons)")
        #expect(factory.discardedValid < 3_000, "\(factory.discardedValid) discarded")
        print(
            "3000 frames in \(elapsed), \(factory.discardedValid) discarded as valid, "
                + "\(factory.discardedLarge) as too large"
        )
    }

    @Test("the same seed makes the same frames")
    func deterministic() throws {
        let settings = try Self.settings()
        let now = WallClock.nanoseconds()
        var first = FrameFactory(settings: settings, seed: 42, startedAtNs: now)
        var second = FrameFactory(settings: settings, seed: 42, startedAtNs: now)
        var other = FrameFactory(settings: settings, seed: 43, startedAtNs: now)
        var same = 0
        var differs = 0
        for _ in 0..<300 {
            let frame = first.next(now: now).frame
            if frame == second.next(now: now).frame { same += 1 }
            if frame != other.next(now: now).frame { differs += 1 }
        }
        #expect(same == 300)
        #expect(differs > 200)
    }

    @Test("the wire format reads back what SwiftProtobuf writes")
    func wireRoundTrip() throws {
        var factory = FrameFactory(settings: try Self.settings(), seed: 1)
        for kind in FrameFactory.PayloadKind.allCases {
            let topic = factory.topic(for: kind)
            let bytes = factory.encoded(factory.envelope(kind, key: topic.key, now: 1_767_225_600_000_000_000))
            let fields = try #require(Wire.fields(bytes))
            #expect(Wire.encode(fields) == bytes)
            #expect(fields.contains { EnvelopeShape.envelope[$0.number] != nil })
        }
        #expect(Wire.fields([0x0a, 0x05, 0x01]) == nil)  // a length past the end
    }

    @Test("the demo stack's subscriptions, from the table")
    func demoTable() throws {
        let listeners = try SubscriptionTable.listeners(config: Self.demoConfig)
        #expect(
            listeners.map(\.label) == [
                "bus-proxy", "journal", "scheduler", "ingestor", "processor p1", "processor p2", "signal-generator",
                "notifier", "dashboard", "bus-tap",
            ])
        func reach(_ label: String, _ topic: String) -> Int {
            listeners.first { $0.label == label }.map { $0.deliveries(of: Array(topic.utf8) + [0]) } ?? -1
        }
        #expect(reach("processor p1", "tick.AAPL") == 1)
        #expect(reach("processor p1", "tick.AMZN") == 0)
        #expect(reach("processor p2", "tick.BRK.B") == 1)
        #expect(reach("processor p1", "tick.AAPLX") == 0)
        #expect(reach("signal-generator", "features.META") == 1)
        // Two sockets of the signal generator, one each; the notifier's session subscription.
        #expect(reach("signal-generator", "market.session") == 1)
        #expect(reach("ingestor", "market.session") == 1)
        #expect(reach("notifier", "status.anything") == 1)
        #expect(reach("notifier", "timer.end_of_day") == 0)
        #expect(reach("notifier", "timer.status_report") == 1)
        #expect(reach("scheduler", "market.session") == 0)
        #expect(reach("dashboard", "tick.AAPL") == 1)
        #expect(reach("dashboard", "features.AAPL") == 0)
        // The journal records everything, on one socket.
        #expect(reach("journal", "tick.AAPLX") == 1)
        #expect(reach("journal", "market.session") == 1)
        // bus-tap's patterns come from its arguments; it has no heartbeat.
        let tap = try #require(listeners.last)
        #expect(!tap.hasHeartbeat && tap.deliveries(of: Array("features.X".utf8)) == 1)
        #expect(tap.deliveries(of: Array("alert.error".utf8)) == 0)
    }

    @Test("a service the table does not know fails the run before it starts")
    func unknownService() {
        var config = Self.demoConfig
        config.stack.services.append(TickwireConfig.StackService(name: "grafana"))
        #expect(throws: FuzzError.self) { try SubscriptionTable.listeners(config: config) }
    }
}
