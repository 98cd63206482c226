import Testing
import Timekeeping

@Suite("Nanoseconds: arithmetic and conversions that cannot trap")
struct NanosecondsTests {
    @Test("saturating arithmetic clamps at both ends and is exact inside")
    func saturating() {
        #expect(Nanoseconds.adding(.max, 1) == .max)
        #expect(Nanoseconds.adding(.min, -1) == .min)
        #expect(Nanoseconds.adding(40, 2) == 42)
        #expect(Nanoseconds.subtracting(.min, 1) == .min)
        #expect(Nanoseconds.subtracting(.max, -1) == .max)
        #expect(Nanoseconds.subtracting(0, .min) == .max)
        #expect(Nanoseconds.multiplying(.max, 2) == .max)
        #expect(Nanoseconds.multiplying(.max, -2) == .min)
        #expect(Nanoseconds.multiplying(.min, -1) == .max)
        #expect(Nanoseconds.multiplying(-3, 7) == -21)
    }

    @Test("checked arithmetic says nil on overflow")
    func checked() {
        #expect(Nanoseconds.checkedAdding(.max, 1) == nil)
        #expect(Nanoseconds.checkedSubtracting(.min, 1) == nil)
        #expect(Nanoseconds.checkedMultiplying(.max / 2 + 1, 2) == nil)
        #expect(Nanoseconds.checkedSeconds(Int64(9_223_372_037)) == nil)
        #expect(Nanoseconds.checkedSeconds(Int64(9_223_372_036)) == 9_223_372_036_000_000_000)
        #expect(Nanoseconds.checkedMilliseconds(Int64.max) == nil)
        #expect(Nanoseconds.checkedMicroseconds(Int64(1)) == 1_000)
    }

    @Test("Double conversions refuse NaN, infinities and values beyond 2262")
    func doubles() {
        #expect(Nanoseconds.checkedSeconds(Double.nan) == nil)
        #expect(Nanoseconds.checkedSeconds(Double.infinity) == nil)
        #expect(Nanoseconds.checkedSeconds(-Double.infinity) == nil)
        #expect(Nanoseconds.checkedSeconds(9_223_372_036.9) == nil)
        #expect(Nanoseconds.checkedSeconds(1e300) == nil)
        #expect(Nanoseconds.checkedSeconds(1.5) == 1_500_000_000)
        #expect(Nanoseconds.checkedSeconds(-1.5) == -1_500_000_000)
        #expect(Nanoseconds.checkedMilliseconds(1_741_959_000_000.0) == 1_741_959_000_000_000_000)
        #expect(Nanoseconds.checkedMicroseconds(Double.nan) == nil)
        #expect(Nanoseconds.clamping(.nan) == 0)
        #expect(Nanoseconds.clamping(1e30) == .max)
        #expect(Nanoseconds.clamping(-1e30) == .min)
        #expect(Nanoseconds.clampingSeconds(.infinity) == .max)
    }

    @Test("durations: components, clamping, timeouts rounded up")
    func durations() {
        #expect(Nanoseconds.of(.milliseconds(1500)) == 1_500_000_000)
        #expect(Nanoseconds.of(.seconds(Int64.max)) == .max)
        #expect(Nanoseconds.of(.seconds(-5)) == -5_000_000_000)
        #expect(Nanoseconds.duration(seconds: .nan) == .zero)
        #expect(Nanoseconds.duration(seconds: -1) == .zero)
        #expect(Nanoseconds.duration(seconds: 1e30) == .nanoseconds(Int64.max))
        #expect(Nanoseconds.timeoutMilliseconds(.nanoseconds(1)) == 1)
        #expect(Nanoseconds.timeoutMilliseconds(.milliseconds(250)) == 250)
        #expect(Nanoseconds.timeoutMilliseconds(.seconds(-1)) == 0)
        #expect(Nanoseconds.timeoutMilliseconds(.seconds(Int64.max)) == Int(Int32.max))
    }

    @Test("floor alignment and floor division, negatives included, overflow is nil")
    func alignment() {
        #expect(Nanoseconds.floor(125, toMultipleOf: 60) == 120)
        #expect(Nanoseconds.floor(-1, toMultipleOf: 60) == -60)
        #expect(Nanoseconds.floor(-60, toMultipleOf: 60) == -60)
        #expect(Nanoseconds.floor(5, toMultipleOf: 0) == nil)
        #expect(Nanoseconds.floor(.min, toMultipleOf: 7) == nil)
        #expect(Nanoseconds.floor(.max, toMultipleOf: Nanoseconds.perDay) != nil)
        #expect(Nanoseconds.floorDivide(-7, 2) == -4)
        #expect(Nanoseconds.floorDivide(7, -2) == -4)
        #expect(Nanoseconds.floorDivide(7, 2) == 3)
        #expect(Nanoseconds.floorDivide(.min, -1) == nil)
        #expect(Nanoseconds.floorDivide(1, 0) == nil)
    }

    @Test("a time window is open where nil and never traps at the extremes")
    func window() {
        let window = TimeWindow(maxPast: 10, maxFuture: 5)
        #expect(window.contains(100, reference: 100))
        #expect(window.contains(90, reference: 100))
        #expect(!window.contains(89, reference: 100))
        #expect(window.contains(105, reference: 100))
        #expect(!window.contains(106, reference: 100))
        #expect(window.contains(.max, reference: .max - 1))
        #expect(!window.contains(.min, reference: .max))
        #expect(!window.contains(.max, reference: .min))
        #expect(TimeWindow.unlimited.contains(.min, reference: .max))
        #expect(TimeWindow(maxPast: -5, maxFuture: nil) == TimeWindow(maxPast: 0, maxFuture: nil))
    }
}
