import Contracts
import Foundation
import MarketCalendar
import ServiceKit

extension MarketCalendar {
    /// The XNYS calendar with the config's special closures and early closes
    /// (`market_hours.special_closures`, `market_hours.early_closes`).
    public static func configured(_ config: TickwireConfig) throws(ConfigError) -> MarketCalendar {
        let zone: TimeZone
        do {
            zone = try newYork()
        } catch {
            throw ConfigError(path: "market_hours", message: "\(error)")
        }
        let closures = config.marketHours.specialClosures.compactMap { closure in
            LocalDate(closure.date).map { SpecialClosure($0, name: closure.name) }
        }
        var earlyCloses: [LocalDate: LocalTime] = [:]
        for early in config.marketHours.earlyCloses {
            if let date = LocalDate(early.date), let time = LocalTime(early.close) { earlyCloses[date] = time }
        }
        return MarketCalendar(timeZone: zone, extraClosures: closures, extraEarlyCloses: earlyCloses)
    }
}

extension MarketPhase {
    /// The bus's enum for this phase.
    public var sessionPhase: SessionPhase {
        switch self {
        case .closed: .closed
        case .preMarket: .preMarket
        case .regular: .regular
        case .postMarket: .postMarket
        }
    }
}
