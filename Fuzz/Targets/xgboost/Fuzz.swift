import Foundation
import FuzzSupport
import Models

/// XGBoost JSON models (`save_model("m.json")`), as the signal generator loads them: the input
/// is the file. A model that loads predicts a few rows, ordinary and extreme.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    for useBestIteration in [true, false] {
        guard
            let model = try? XGBoostModel(
                json: Data(fuzzInput(data, size)), source: "<fuzz>", useBestIteration: useBestIteration)
        else { return 0 }
        guard (1...4_096).contains(model.featureCount) else { continue }
        for value in [0, 1, -1, 1e300, -1e300, .nan, .infinity] as [Double] {
            _ = try? model.predict([Double](repeating: value, count: model.featureCount))
        }
        _ = model.probabilities([1])
    }
    return 0
}
