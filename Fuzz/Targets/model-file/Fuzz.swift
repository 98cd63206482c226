import Foundation
import FuzzSupport
import Models

/// Tickwire's model files (`ModelFile.decode`, what the signal generator loads and reloads):
/// the input is the file; its own `schema_hash` is the one expected, so the fuzzer gets past
/// that check. A model that loads predicts a few rows, ordinary and extreme.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(fuzzInput(data, size))
    let header = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any]
    let hash = header?["schema_hash"] as? String ?? ""
    guard let file = try? ModelFile.decode(bytes, path: "<fuzz>", expectedSchemaHash: hash),
        let model = try? file.classifier()
    else { return 0 }
    predictRows(model)
    return 0
}

/// Predicts rows of every value that matters (bounded width), and one of the wrong width.
func predictRows(_ model: any Classifier) {
    guard (1...4_096).contains(model.featureCount) else { return }
    for value in [0, 1, -1, 1e300, -1e300, .nan, .infinity] as [Double] {
        _ = try? model.predict([Double](repeating: value, count: model.featureCount))
    }
    _ = model.probabilities([1])
}
