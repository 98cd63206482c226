import MarketData
import Testing

@Suite("Provider time conversions")
struct ProviderTimeTests {
    /// 2025-03-14T14:30:00Z.
    static let base: Int64 = 1_741_962_600_000_000_000

    @Test(
        "RFC 3339 text converts to UTC nanoseconds exactly",
        arguments: [
            ("2025-03-14T14:30:00Z", base), ("2025-03-14t14:30:00z", base), ("2025-03-14T14:30:00.1Z", base + 100_000_000),
            ("2025-03-14T14:30:00.000000001Z", base + 1), ("2025-03-14T14:30:00.1234567891Z", base + 123_456_789),
            ("2025-03-14T10:30:00-04:00", base), ("2025-03-14T20:00:00+0530", base), ("2025-03-14T14:30:00,5Z", base + 500_000_000),
            ("1970-01-01T00:00:00Z", 0), ("2024-02-29T00:00:00Z", 1_709_164_800_000_000_000),
            ("2000-03-01T00:00:00Z", 951_868_800_000_000_000),
        ])
    func rfc3339(text: String, expected: Int64) {
        #expect(ProviderTime.nanoseconds(rfc3339: text) == expected)
    }

    @Test(
        "malformed or zone-less RFC 3339 text is rejected",
        arguments: [
            "", "2025-03-14", "2025-03-14T14:30:00", "2025-03-14 14:30:00Z", "2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z",
            "2025-03-14T24:00:00Z", "2025-03-14T14:60:00Z", "2025-03-14T14:30:60Z", "2025-03-14T14:30:00.Z",
            "2025-03-14T14:30:00+25:00", "2025-03-14T14:30:00Zjunk", "25-03-14T14:30:00Z",
        ])
    func rfc3339Rejected(text: String) {
        #expect(ProviderTime.nanoseconds(rfc3339: text) == nil)
    }

    @Test("a space separator only when allowed")
    func space() {
        #expect(ProviderTime.nanoseconds(rfc3339: "2025-03-14 14:30:00Z", allowSpace: true) == Self.base)
    }

    @Test("epoch numbers: the unit follows from the size")
    func epochs() {
        #expect(ProviderTime.nanoseconds(epoch: Int64(1_741_962_600)) == Self.base)
        #expect(ProviderTime.nanoseconds(epoch: Int64(1_741_962_600_123)) == Self.base + 123_000_000)
        #expect(ProviderTime.nanoseconds(epoch: Int64(1_741_962_600_123_456)) == Self.base + 123_456_000)
        #expect(ProviderTime.nanoseconds(epoch: Int64(1_741_962_600_123_456_789)) == Self.base + 123_456_789)
        #expect(ProviderTime.nanoseconds(epoch: 1_741_962_600.5) == Self.base + 500_000_000)
        #expect(ProviderTime.nanoseconds(epoch: 1_741_962_600_123.0) == Self.base + 123_000_000)
        #expect(ProviderTime.nanoseconds(epoch: Int64(0)) == nil)
        #expect(ProviderTime.nanoseconds(epoch: Int64(-1)) == nil)
        #expect(ProviderTime.nanoseconds(epoch: Double.nan) == nil)
        #expect(ProviderTime.nanoseconds(epoch: -1.5) == nil)
        #expect(ProviderTime.nanoseconds(milliseconds: 1_741_962_600_066) == 1_741_962_600_066_000_000)
        #expect(ProviderTime.nanoseconds(milliseconds: .max) == nil)
        #expect(ProviderTime.nanoseconds(milliseconds: 0) == nil)
    }
}
