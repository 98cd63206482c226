import Foundation
import FuzzSupport
import Indicators

/// Bar files as `tickwire train`, `processor table` and the backtests read them: the input is
/// the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = fuzzFile(fuzzInput(data, size), name: "bars.csv")
    _ = try? BarsCSV.read(path: path, timeZone: newYork)
    return 0
}

let newYork = TimeZone(identifier: "America/New_York") ?? .gmt
