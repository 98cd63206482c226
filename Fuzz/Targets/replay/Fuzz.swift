import Dispatch
import FuzzSupport
import Logging
import MarketData
import ServiceKit

/// The replay provider: the input is a replay file (`AAPL.csv`: the symbol from its name),
/// played once as fast as possible; every event goes through the ingestor's plausibility
/// check, as in `ProviderService`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var config = TickwireConfig()
    config.provider = ReplayProvider.providerName
    config.replay.files = [fuzzFile(fuzzInput(data, size), name: "AAPL.csv")]
    config.replay.speed = 0
    config.replay.loop = false
    guard let provider = try? ReplayProvider(config: config) else { return 0 }
    let played = DispatchSemaphore(value: 0)
    let ended = DispatchSemaphore(value: 0)
    let sink = ProviderSink(
        logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }),
        onEvent: { event in _ = MarketLimits.rejection(of: event) },
        onCount: { name, _ in if name == "replay_passes" { played.signal() } })
    let task = Task {
        try? await provider.run(symbols: [], sink: sink)
        played.signal()
        ended.signal()
    }
    // One pass, then the provider idles until cancelled (a fatal issue ends it at once).
    if played.wait(timeout: .now() + .seconds(20)) == .timedOut { fatalError("the replay did not finish in 20 s") }
    task.cancel()
    _ = ended.wait(timeout: .now() + .seconds(20))
    return 0
}
