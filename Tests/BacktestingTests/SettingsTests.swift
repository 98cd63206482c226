import Backtesting
import Foundation
import Testing

@Suite("Backtest settings")
struct BacktestSettingsTests {
    @Test("the defaults are valid; each bad value is refused naming its option")
    func ranges() throws {
        try BacktestSettings().validate()
        var settings = BacktestSettings()
        settings.commission = .nan
        #expect(throws: BacktestError("--commission: nan must be a fraction from 0 to 0.5")) { try settings.validate() }
        settings = BacktestSettings()
        settings.capital = -1
        #expect(throws: BacktestError.self) { try settings.validate() }
        settings = BacktestSettings()
        settings.from = Date(timeIntervalSince1970: 10)
        settings.to = Date(timeIntervalSince1970: 5)
        #expect(throws: BacktestError("--from: is after --to")) { try settings.validate() }
    }
}
