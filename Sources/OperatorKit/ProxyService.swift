import Bus
import Contracts
import Logging
import ServiceKit
import ServiceLifecycle

/// bus-proxy as a service: runs the XSUB/XPUB forwarder and copies its counters into the
/// heartbeat once a second.
public struct ProxyService: Service {
    let environment: ServiceEnvironment
    let frontend: String
    let backend: String

    public init(environment: ServiceEnvironment, frontend: String, backend: String) {
        self.environment = environment
        self.frontend = frontend
        self.backend = backend
    }

    public func run() async throws {
        var options = try await environment.serverOptions(binding: frontend)
        _ = try await environment.serverOptions(binding: backend)
        options.lingerMilliseconds = 0
        // With security, each identity may publish only its own topic kinds, as itself.
        let gate = environment.security.map { _ in PublishGate(rights: environment.config.bus.publishRights) }
        let proxy = try await Proxy(
            context: environment.context, frontend: frontend, backend: backend, options: options, gate: gate)
        let mode = gate == nil ? "unauthenticated (bus.security none)" : "CURVE, publish rights enforced"
        environment.logger.info(
            "forwarding: publishers → \(proxy.frontend) (XSUB), subscribers ← \(proxy.backend) (XPUB); \(mode)")
        var reported = Proxy.Statistics()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            let statistics = proxy.statistics
            publish(statistics, since: reported)
            reported = statistics
            if let failure = proxy.failure {
                await proxy.close()
                throw failure
            }
        }
        await proxy.close()
        publish(proxy.statistics, since: reported)
    }

    /// Copies the proxy's counters into the heartbeat. The counters wrap rather than trap at
    /// `UInt64.max`, so the differences since the last report wrap too (`&-`).
    func publish(_ statistics: Proxy.Statistics, since reported: Proxy.Statistics) {
        let counters = environment.counters
        let forwarded = statistics.messages &- reported.messages
        counters.addIn(forwarded)
        counters.addOut(forwarded)
        counters.set("proxy.bytes", statistics.bytes)
        counters.set("proxy.frames", statistics.frames)
        counters.set("proxy.malformed", statistics.malformed)
        counters.set("proxy.subscription_changes", statistics.subscriptionChanges)
        for refusal in ProxyRefusal.allCases {
            let total = statistics.refused[refusal] ?? 0
            counters.set("proxy.refused.\(refusal.rawValue)", total)
            let new = total &- (reported.refused[refusal] ?? 0)
            if new > 0 && refusal != .malformed {
                environment.logger.warning("refused \(new) published message(s): \(refusal.rawValue)")
            }
        }
        let malformed = statistics.malformed &- reported.malformed
        if malformed > 0 {
            let what = environment.security == nil ? "forwarded" : "dropped"
            environment.logger.warning("\(what) \(malformed) malformed message(s) (not 2 frames)")
        }
    }
}
