import Models
import Testing

@Suite("Standardizer")
struct StandardizerTests {
    @Test("fitted on training rows: zero mean, unit variance; a constant column maps to 0")
    func fit() {
        let rows: [[Double]] = [[1, 5], [3, 5], [5, 5]]
        let scaler = Standardizer(fitting: rows)
        #expect(scaler.mean == [3, 5])
        #expect(abs(scaler.scale[0] - (8.0 / 3).squareRoot()) < 1e-12 && scaler.scale[1] == 1)
        #expect(scaler.transform([3, 7]) == [0, 2])
    }
}
