/// The zero tests TA-Lib's oscillators use, in one place.
enum OscillatorMath {
    /// TA-Lib's `TA_IS_ZERO`: strictly within 1e-14 of zero.
    @inline(__always)
    static func isZero(_ x: Double) -> Bool { -1e-14 < x && x < 1e-14 }

    /// TA-Lib's relative flatness test: `difference` is negligible next to the two values
    /// it came from (`(|a| + |b|) * 1e-14 >= |difference|`).
    @inline(__always)
    static func isNegligible(_ difference: Double, _ a: Double, _ b: Double) -> Bool {
        (abs(a) + abs(b)) * 1e-14 >= abs(difference)
    }
}
