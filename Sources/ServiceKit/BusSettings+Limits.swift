import Bus
import Contracts
import Timekeeping

extension TickwireConfig {
    /// What received messages are checked against (`bus.validation`), widened where the
    /// deployment's own data lies outside the live window: a replay's event times are old,
    /// and a simulator faster than real time runs ahead of the clock.
    public var envelopeLimits: EnvelopeLimits {
        let validation = bus.validation
        func window(_ seconds: Double) -> Int64? { seconds > 0 ? Nanoseconds.checkedSeconds(seconds) : nil }
        var limits = EnvelopeLimits()
        limits.eventTime = TimeWindow(
            maxPast: provider == "replay" ? nil : window(validation.maxEventAgeSeconds),
            maxFuture: provider == ProviderName.simulated && simulator.speed > 1
                ? nil : window(validation.maxEventLeadSeconds))
        limits.publishTime = TimeWindow(
            maxPast: window(validation.maxPublishAgeSeconds), maxFuture: window(validation.maxClockSkewSeconds))
        return limits
    }

    /// Socket options from the `bus` section.
    public var socketOptions: SocketOptions {
        var options = SocketOptions()
        options.sendHighWaterMark = Int32(clamping: bus.sendHighWaterMark)
        options.receiveHighWaterMark = Int32(clamping: bus.receiveHighWaterMark)
        options.maxMessageBytes = Int64(bus.maxMessageBytes)
        return options
    }
}
