import Bus
import Contracts
import Logging
import ServiceKit
import ServiceLifecycle

/// Serves ``BarHistory`` on the ingestor's `history_bind` endpoint and closes its bars on
/// time. Stops on graceful shutdown.
public struct HistoryService: Service {
    let environment: ServiceEnvironment
    public let history: BarHistory
    let rejectionLog = LogThrottle()

    public init(environment: ServiceEnvironment, history: BarHistory) {
        self.environment = environment
        self.history = history
    }

    public func run() async throws {
        let history = self.history
        let producer = environment.producer
        let endpoint = environment.config.ingestor.historyBind
        let replier: Replier
        do {
            let options = try await environment.serverOptions(binding: endpoint)
            replier = try await Replier(context: environment.context, bind: endpoint, options: options) {
                frames in history.handle(frames: frames, producer: producer)
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            // Another ingestor may hold the port; the feed itself is more important than history.
            environment.raiseAlert(
                .warning, category: "ingestor.history_unavailable", title: "history endpoint not served",
                message: "cannot bind ingestor.history_bind \(endpoint): \(error); processors that restart will start cold")
            try? await gracefulShutdown()
            return
        }
        environment.logger.info("history endpoint on \(replier.endpoint) (\(history.settings.capacity) bars per ticker)")
        let period = Duration.nanoseconds(min(250_000_000, max(10_000_000, history.settings.intervalNs / 4)))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            history.closeDueBars()
            publishStatistics()
        }
        let served = replier.statistics
        await replier.close()
        environment.logger.info("history endpoint closed after \(served.answered) requests (\(served.malformed) malformed)")
    }

    /// Copies what the history dropped into the heartbeat counters (`history.rejected.<reason>`,
    /// `history.evicted_tickers`), logging when they grow (rate-limited).
    func publishStatistics() {
        let statistics = history.statistics
        let counters = environment.counters
        let before = counters.snapshot.named
        for (name, count) in statistics.rejected {
            if count > before[name, default: 0] && rejectionLog.shouldReport() {
                environment.logger.warning("history: dropped events (\(name) now \(count))")
            }
            counters.set(name, count)
        }
        if statistics.evictedTickers > 0 { counters.set("history.evicted_tickers", statistics.evictedTickers) }
    }
}
