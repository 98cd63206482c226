import Bus
import Contracts
import Models
import ServiceKit

/// One message as bus-fuzz sends it: its frames (the first is the topic) and how it was made.
public struct FuzzFrame: Sendable, Equatable {
    public enum Origin: String, Sendable, CaseIterable, Codable {
        /// Random bytes, topic and payload, sometimes another frame count.
        case random
        /// A valid envelope cut short.
        case truncated
        /// A valid envelope (or its topic) with a few bits flipped.
        case bitFlipped = "bit_flipped"
        /// A valid envelope with fields changed on the wire (see ``FrameFactory``).
        case mutated
        /// A valid envelope on the wrong topic: another key, another kind, or a broken topic frame.
        case retopiced
        /// Not the bus's two frames.
        case frameCount = "frame_count"
        /// Larger than `bus.max_message_bytes`: the proxy must cut the sender off.
        case oversize
    }

    public var frames: [[UInt8]]
    public var origin: Origin

    public init(frames: [[UInt8]], origin: Origin) {
        self.frames = frames
        self.origin = origin
    }

    /// The first frame, which subscriptions match.
    public var topic: [UInt8] { frames.first ?? [] }

    /// The message as a subscriber receives it.
    public var raw: RawMessage {
        RawMessage(topic: topic, payload: frames.count > 1 ? frames[1] : [], frameCount: frames.count)
    }
}

/// Makes hostile bus messages, deterministically from a seed, and keeps only those every
/// receiver refuses: each candidate goes through `Codec.decode` and an ``EnvelopeValidator``
/// with the deployment's limits, and one that would pass is discarded (and counted), so no
/// valid garbage reaches the models and the expected rejection counts are exact.
///
/// The mix: random bytes (12 %), truncated (8 %) and bit-flipped (10 %) valid envelopes,
/// structure-aware mutations (55 %), valid envelopes on the wrong topic (8 %) and messages
/// of one, three or four frames (7 %). Mutations take an encoded envelope of any payload kind
/// (on its own topic kind, or on another one in one case of ten) apart on the wire and set
/// one field (or two or three), at any depth, mostly inside the payload, to 0, -1,
/// Int64.min/max, UInt64.max, an unknown enum value, NaN, ±inf, ±1e308, an empty, 300-byte,
/// 4 KB, 1 MB or invalid UTF-8 string, another ticker (symbol and topic disagree), a missing
/// or empty message (no producer, no payload), a wrong wire type or 10,000 repeats.
public struct FrameFactory {
    /// What the frames are made of.
    public struct Settings: Sendable {
        /// Symbols of `tick.`, `bar.`, `features.` and `signal.` topics (the config's tickers).
        public var tickers: [String]
        /// Names of `status.<name>` topics (the stack's services).
        public var statusNames: [String]
        /// What receivers check messages against.
        public var limits: EnvelopeLimits
        /// `bus.max_message_bytes`: no frame is made larger, but oversize ones.
        public var maxFrameBytes: Int

        public init(tickers: [String], statusNames: [String], limits: EnvelopeLimits, maxFrameBytes: Int) {
            self.tickers = tickers.isEmpty ? ["AAPL"] : tickers
            self.statusNames = statusNames.isEmpty ? ["bus-proxy"] : statusNames
            self.limits = limits
            self.maxFrameBytes = maxFrameBytes
        }

        public init(config: TickwireConfig, listeners: [Listener]) {
            var names: [String] = []
            for listener in listeners where !names.contains(listener.service) { names.append(listener.service) }
            self.init(
                tickers: config.tickers, statusNames: names, limits: config.envelopeLimits,
                maxFrameBytes: config.bus.maxMessageBytes)
        }

        /// The largest frame made: a little under the bus's limit.
        var frameBudget: Int { max(1_024, maxFrameBytes - 1_024) }
    }

    public let settings: Settings
    private var random: SplitMix64
    private var validator: EnvelopeValidator
    private var cache = DecodeCache()
    private var sequence: UInt64 = 0
    private var validCache: [String: (bytes: [UInt8], madeAt: Int64)] = [:]
    private var made = 0
    private let producer: Producer
    /// Candidates that would have passed (not sent).
    public private(set) var discardedValid = 0
    /// Candidates larger than the frame budget (not sent).
    public private(set) var discardedLarge = 0

    /// `startedAtNs` is the producer's start time the valid envelopes carry (the same seed and
    /// start time make the same frames).
    public init(settings: Settings, seed: UInt64, startedAtNs: Int64 = WallClock.nanoseconds()) {
        self.settings = settings
        random = SplitMix64(seed: seed)
        validator = EnvelopeValidator(limits: settings.limits)
        var producer = Producer()
        producer.service = "bus-fuzz"
        producer.instance = "fuzz"
        producer.startedAtNs = startedAtNs
        self.producer = producer
    }

    /// The next message every receiver refuses, and the reason they refuse it for. The first
    /// is always a one-frame `status.bus-proxy`, which tells whether the proxy forwards
    /// messages that are not two frames.
    public mutating func next(now: Int64) -> (frame: FuzzFrame, reason: RejectReason) {
        made += 1
        if made == 1 { return (Self.probe, .frames) }
        for _ in 0..<64 {
            let frame = candidate(now: now)
            guard frame.frames.allSatisfy({ $0.count <= settings.frameBudget }) else {
                discardedLarge += 1
                continue
            }
            if let reason = rejection(of: frame, now: now) { return (frame, reason) }
            discardedValid += 1
        }
        return (Self.probe, .frames)
    }

    /// A one-frame message on `status.bus-proxy`.
    public static let probe = FuzzFrame(
        frames: [Array("status.bus-proxy".utf8) + [Topic.terminator]], origin: .frameCount)

    /// Why a receiver refuses `frame` (decode, then validate), or `nil` when it would take it.
    public mutating func rejection(of frame: FuzzFrame, now: Int64) -> RejectReason? {
        let delivery: Delivery
        do {
            delivery = try Codec.decode(frame.raw, cache: &cache)
        } catch {
            return error.reason
        }
        return validator.check(delivery, now: now)?.reason
    }

    /// A message larger than `bus.max_message_bytes` on `topic`.
    public mutating func oversize(topic: [UInt8]) -> FuzzFrame {
        let payload = bytes(count: settings.maxFrameBytes + 1 + int(4_096))
        return FuzzFrame(frames: [topic, payload], origin: .oversize)
    }

    // MARK: Candidates

    mutating func candidate(now: Int64) -> FuzzFrame {
        switch int(100) {
        case 0..<12: return randomFrame()
        case 12..<20:
            let (topic, payload) = valid(now: now)
            return FuzzFrame(frames: [topic, Array(payload.prefix(int(payload.count)))], origin: .truncated)
        case 20..<30:
            var (topic, payload) = valid(now: now)
            if chance(10) { flipBits(&topic) } else { flipBits(&payload) }
            return FuzzFrame(frames: [topic, payload], origin: .bitFlipped)
        case 30..<85: return mutated(now: now)
        case 85..<93:
            let (topic, payload) = valid(now: now)
            return FuzzFrame(frames: [wrongTopic(for: topic), payload], origin: .retopiced)
        default:
            let (topic, payload) = chance(50) ? valid(now: now) : mutatedParts(now: now)
            let frames: [[UInt8]] =
                switch int(4) {
                case 0: [topic]
                case 1: [topic, payload, []]
                case 2: [topic, payload, bytes(count: int(64)), payload]
                default: [topic, [], payload]
                }
            return FuzzFrame(frames: frames, origin: .frameCount)
        }
    }

    mutating func randomFrame() -> FuzzFrame {
        var topic: [UInt8]
        switch int(4) {
        case 0: topic = Array(pick(["status.", "alert.", "signal.", "tick.", "features.", "market.", "timer."]).utf8)
        case 1: topic = self.topic(for: pick(PayloadKind.allCases)).wire
        default: topic = []
        }
        topic += bytes(count: int(40))
        let length =
            switch int(10) {
            case 0: 0
            case 1: int(65_536)
            case 2, 3: int(2_048)
            default: int(256)
            }
        let payload = bytes(count: length)
        let frames: [[UInt8]] =
            switch int(20) {
            case 0, 1: [topic]
            case 2: [topic, payload, payload]
            default: [topic, payload]
            }
        return FuzzFrame(frames: frames, origin: .random)
    }

    mutating func mutated(now: Int64) -> FuzzFrame {
        let (topic, payload) = mutatedParts(now: now)
        return FuzzFrame(frames: [topic, payload], origin: .mutated)
    }

    /// A mutated envelope of a random payload kind, on its own topic kind or (one in ten) another.
    mutating func mutatedParts(now: Int64) -> ([UInt8], [UInt8]) {
        let kind = pick(PayloadKind.allCases)
        let topic = chance(90) ? self.topic(for: kind) : self.topic(for: pick(PayloadKind.allCases))
        var payload = validPayload(kind, key: topic.key, now: now)
        for _ in 0..<(chance(60) ? 1 : 2 + int(2)) where payload.count <= settings.frameBudget {
            payload = mutate(
                payload, shape: EnvelopeShape.envelope, room: settings.frameBudget - payload.count, depth: 0)
        }
        return (topic.wire, payload)
    }

    /// A valid message: its topic frame and payload.
    mutating func valid(now: Int64) -> ([UInt8], [UInt8]) {
        let kind = pick(PayloadKind.allCases)
        let topic = self.topic(for: kind)
        return (topic.wire, validPayload(kind, key: topic.key, now: now))
    }

    mutating func wrongTopic(for topic: [UInt8]) -> [UInt8] {
        let body = Array(topic.dropLast())
        switch int(9) {
        case 0: return Array("tick.\(pick(settings.tickers + Self.otherSymbols))".utf8) + [Topic.terminator]
        case 1: return self.topic(for: pick(PayloadKind.allCases)).wire
        case 2: return body  // no terminator
        case 3: return topic + bytes(count: 1 + int(8))  // bytes after the terminator
        case 4: return Array("tock.AAPL".utf8) + [Topic.terminator]  // unknown kind
        case 5: return Array("tick".utf8) + [Topic.terminator]  // no key
        case 6: return Array("tick.".utf8) + [Topic.terminator]  // empty key
        case 7: return Array("tick.\(String(repeating: "A", count: 33))".utf8) + [Topic.terminator]  // key too long
        default: return Array("tick.AA PL\u{e9}".utf8) + [Topic.terminator]  // characters outside the grammar
        }
    }

    // MARK: Wire mutation

    /// Changes one field of the message `bytes` (described by `shape`): removes it (10 %), gives
    /// it a wrong wire type (10 %), repeats it 10,000 times (0.1 %), or mutates inside it (a
    /// message) or sets it to an extreme value. `room` bounds the bytes added (roughly: a
    /// result over the frame budget is discarded by ``next(now:)``).
    mutating func mutate(_ bytes: [UInt8], shape: [UInt32: FieldShape], room: Int, depth: Int) -> [UInt8] {
        guard var fields = Wire.fields(bytes) else { return bytes }
        // Mostly a field that is there: the envelope's payload, at the top, more than half the time.
        let present = Set(fields.map(\.number)).filter { shape[$0] != nil }.sorted()
        let payload = depth == 0 ? present.last { $0 >= 10 } : nil
        let number =
            if let payload, chance(60) { payload } else if !present.isEmpty, chance(70) { pick(present) } else {
                pick(shape.keys.sorted())
            }
        let fieldShape = shape[number] ?? .varint
        let index = fields.lastIndex { $0.number == number }
        switch int(1_000) {
        case 0..<100:
            fields.removeAll { $0.number == number }
        case 100..<200:
            let natural = Self.wireType(of: fieldShape)
            let wrong = pick(
                [Wire.Field.varint, Wire.Field.fixed64, Wire.Field.lengthDelimited, Wire.Field.fixed32]
                    .filter { $0 != natural })
            fields.append(Wire.Field(number: number, wireType: wrong, value: value(ofWireType: wrong)))
        case 200:
            let existing = index.map { fields[$0] }
            fields.removeAll { $0.number == number }
            return Wire.encode(fields) + repeated(fieldShape, number: number, existing: existing)
        default:
            if case .message(let inner) = fieldShape, let index, depth < 3, chance(80) {
                fields[index].value = mutate(fields[index].value, shape: inner, room: room, depth: depth + 1)
            } else {
                fields.removeAll { $0.number == number }
                fields.append(
                    Wire.Field(
                        number: number, wireType: Self.wireType(of: fieldShape), value: extreme(fieldShape, room: room))
                )
            }
        }
        return Wire.encode(fields)
    }

    /// 10,000 fields `number` with a small value (distinct keys for a map), encoded.
    mutating func repeated(_ shape: FieldShape, number: UInt32, existing: Wire.Field?) -> [UInt8] {
        let count = 10_000
        let type = Self.wireType(of: shape)
        var bytes: [UInt8] = []
        switch shape {
        case .mapEntry(let valueShape):
            let value = Wire.Field(number: 2, wireType: Self.wireType(of: valueShape), value: small(valueShape))
            for index in 0..<count {
                let key = Wire.Field(number: 1, wireType: Wire.Field.lengthDelimited, value: Array(String(index).utf8))
                bytes += Wire.encode([Wire.Field(number: number, wireType: type, value: Wire.encode([key, value]))])
            }
        case .packedDoubles:
            let value = Wire.doubleBytes(pick(Self.doubles))
            var values: [UInt8] = []
            values.reserveCapacity(8 * count)
            for _ in 0..<count { values += value }
            bytes = Wire.encode([Wire.Field(number: number, wireType: type, value: values)])
        default:
            // The field's own value when small (a vote, a condition), else a small one.
            let value = existing.map(\.value).flatMap { $0.count <= 64 ? $0 : nil } ?? small(shape)
            let one = Wire.encode([Wire.Field(number: number, wireType: type, value: value)])
            bytes.reserveCapacity(one.count * count)
            for _ in 0..<count { bytes += one }
        }
        return bytes
    }

    /// A small value of `shape`.
    mutating func small(_ shape: FieldShape) -> [UInt8] {
        switch shape {
        case .varint: Wire.varintBytes(1)
        case .double: Wire.doubleBytes(0.5)
        case .string: Array("x".utf8)
        case .message, .mapEntry: []
        case .packedDoubles: Wire.doubleBytes(0.5)
        }
    }

    /// An extreme value of `shape`, adding at most about `room` bytes.
    mutating func extreme(_ shape: FieldShape, room: Int) -> [UInt8] {
        switch shape {
        case .varint:
            return Wire.varintBytes(pick(Self.varints))
        case .double:
            return Wire.doubleBytes(pick(Self.doubles))
        case .string:
            switch int(8) {
            case 0: return []
            case 1: return Array(String(repeating: "n", count: 300).utf8)
            case 2:
                // A 1 MB string in one case of 500 (about one frame in 4,000), else 4 KB.
                let length = int(500) == 0 ? 1_000_000 : 4_096
                return Array(repeating: UInt8(ascii: "M"), count: max(0, min(length, room - 64)))
            case 3: return [0xff, 0xfe, 0x80, 0x41]  // not UTF-8
            case 4: return [0x41, 0x00, 0x42]  // a NUL inside
            default: return Array(pick(settings.tickers + Self.otherSymbols).utf8)
            }
        case .message(let inner):
            var fields: [Wire.Field] = []
            for _ in 0..<int(3) {
                let number = pick(inner.keys.sorted())
                let fieldShape = inner[number] ?? .varint
                fields.append(
                    Wire.Field(
                        number: number, wireType: Self.wireType(of: fieldShape),
                        value: extreme(fieldShape, room: room / 2)))
            }
            return Wire.encode(fields)
        case .packedDoubles:
            switch int(40) {
            case 0..<10: return []
            case 10..<20: return bytes(count: 7)  // not a whole number of doubles
            case 20: return Array([[UInt8]](repeating: Wire.doubleBytes(pick(Self.doubles)), count: 10_000).joined())
            default: return Array((0..<(1 + int(64))).map { _ in Wire.doubleBytes(pick(Self.doubles)) }.joined())
            }
        case .mapEntry(let valueShape):
            return Wire.encode([
                Wire.Field(number: 1, wireType: Wire.Field.lengthDelimited, value: extreme(.string, room: room / 2)),
                Wire.Field(
                    number: 2, wireType: Self.wireType(of: valueShape), value: extreme(valueShape, room: room / 2)),
            ])
        }
    }

    mutating func value(ofWireType type: UInt8) -> [UInt8] {
        switch type {
        case Wire.Field.varint: Wire.varintBytes(pick(Self.varints))
        case Wire.Field.fixed64: Wire.doubleBytes(pick(Self.doubles))
        case Wire.Field.fixed32: bytes(count: 4)
        default: bytes(count: int(16))
        }
    }

    static func wireType(of shape: FieldShape) -> UInt8 {
        switch shape {
        case .varint: Wire.Field.varint
        case .double: Wire.Field.fixed64
        case .string, .message, .packedDoubles, .mapEntry: Wire.Field.lengthDelimited
        }
    }

    static let varints: [UInt64] = [
        0, 1, UInt64.max, UInt64(bitPattern: Int64.min), UInt64(Int64.max), 99, 1 << 32, UInt64(UInt32.max), 5,
    ]
    static let doubles: [Double] = [
        0, -1, .nan, .infinity, -.infinity, 1e308, -1e308, -0.0, .leastNonzeroMagnitude, 9.3e18, 1e15 + 1, 2,
    ]
    static let otherSymbols = ["AAPLX", "ZZZZ", "brk.b", "A"]

    // MARK: Valid envelopes

    enum PayloadKind: CaseIterable {
        case trade, quote, bar, features, signal, session, alert, status, timer
    }

    /// A topic of the kind `payload` travels on, with a key from the deployment.
    mutating func topic(for payload: PayloadKind) -> Topic {
        let kind: String
        let key: String
        switch payload {
        case .trade, .quote, .bar, .features, .signal:
            kind =
                switch payload {
                case .trade, .quote: Topic.tickKind
                case .bar: Topic.barKind
                case .features: Topic.featuresKind
                default: Topic.signalKind
                }
            key = chance(90) ? pick(settings.tickers) : pick(Self.otherSymbols)
        case .session:
            kind = Topic.marketKind
            key = "session"
        case .alert:
            kind = Topic.alertKind
            key = pick(["info", "warning", "error", "critical"])
        case .status:
            kind = Topic.statusKind
            key = pick(settings.statusNames + ["bus-fuzz"])
        case .timer:
            kind = Topic.timerKind
            key = pick(["status_report", "end_of_day", "fuzz"])
        }
        return (try? Topic(kind: kind, key: key)) ?? .marketSession
    }

    /// A valid envelope carrying `kind` for the topic key `key`, encoded. Kept for a second per
    /// kind and key (its times stay valid that long), which spares encoding one per frame.
    mutating func validPayload(_ kind: PayloadKind, key: String, now: Int64) -> [UInt8] {
        let cacheKey = "\(kind).\(key)"
        if let cached = validCache[cacheKey], now - cached.madeAt < 1_000_000_000 { return cached.bytes }
        let bytes = encoded(envelope(kind, key: key, now: now))
        validCache[cacheKey] = (bytes, now)
        return bytes
    }

    /// A valid envelope carrying `kind` for the topic key `key`.
    mutating func envelope(_ kind: PayloadKind, key: String, now: Int64) -> Envelope {
        sequence &+= 1
        var envelope = Envelope()
        envelope.schemaVersion = Codec.schemaVersion
        envelope.producer = producer
        envelope.sequence = sequence
        envelope.eventTimeNs = now
        envelope.publishTimeNs = now
        envelope.payload = Self.payload(kind, key: key, now: now)
        return envelope
    }

    static func payload(_ kind: PayloadKind, key: String, now: Int64) -> Envelope.OneOf_Payload {
        switch kind {
        case .trade:
            var trade = Trade()
            trade.symbol = key
            trade.price = 100.25
            trade.size = 10
            trade.exchange = "X"
            trade.tradeID = "1"
            trade.conditions = ["@"]
            trade.provider = "fuzz"
            return .trade(trade)
        case .quote:
            var quote = Quote()
            quote.symbol = key
            quote.bidPrice = 99.9
            quote.bidSize = 1
            quote.askPrice = 100.1
            quote.askSize = 2
            quote.bidExchange = "X"
            quote.askExchange = "Y"
            quote.provider = "fuzz"
            return .quote(quote)
        case .bar:
            var bar = Bar()
            bar.symbol = key
            bar.startTimeNs = now - 5_000_000_000
            bar.endTimeNs = now
            bar.open = 100
            bar.high = 101
            bar.low = 99
            bar.close = 100.5
            bar.volume = 1_000
            bar.vwap = 100.2
            bar.tradeCount = 10
            bar.origin = .live
            bar.provider = "fuzz"
            return .bar(bar)
        case .features:
            var features = FeatureVector()
            features.symbol = key
            features.featureSet = "default"
            features.featureSetVersion = 1
            features.names = ["a", "b", "c"]
            features.values = [0.1, -0.2, 0.3]
            features.schemaHash = FeatureSchemaHash.of(set: "default", version: 1, names: features.names)
            features.barEndTimeNs = now
            features.close = 100
            return .features(features)
        case .signal:
            var vote = ModelVote()
            vote.model = "m"
            vote.action = .buy
            vote.probability = 0.7
            vote.weight = 1
            vote.probabilityDown = 0.1
            vote.probabilityFlat = 0.2
            vote.probabilityUp = 0.7
            vote.liveAccuracy = 0.5
            var signal = Signal()
            signal.symbol = key
            signal.action = .buy
            signal.confidence = 0.7
            signal.price = 100
            signal.suggestedPositionSize = 0.1
            signal.ensembleMethod = "dynamic_ensemble"
            signal.votes = [vote]
            signal.modelVersion = "m@1"
            signal.horizonSeconds = 300
            signal.id = "\(key)-\(now)-BUY"
            signal.stopLoss = 95
            signal.shares = 10
            signal.riskAmount = 50
            signal.modelVersions = ["m@1"]
            signal.schemaHash = "0123456789abcdef"
            signal.barEndTimeNs = now
            signal.horizonBars = 5
            return .signal(signal)
        case .session:
            var session = MarketSession()
            session.exchange = "XNYS"
            session.phase = .regular
            session.nextPhase = .postMarket
            session.nextChangeNs = now + 3_600_000_000_000
            session.timezone = "America/New_York"
            session.tradingDay = "2026-01-02"
            session.phaseStartNs = now - 3_600_000_000_000
            session.clockNs = now
            session.clockSpeed = 1
            session.regularOpenNs = now - 3_600_000_000_000
            session.regularCloseNs = now + 3_600_000_000_000
            return .session(session)
        case .alert:
            var alert = Alert()
            alert.severity =
                switch key {
                case "info": .info
                case "warning": .warning
                case "critical": .critical
                default: .error
                }
            alert.category = "fuzz.test"
            alert.title = "fuzz"
            alert.message = "a fuzz alert"
            alert.service = "bus-fuzz"
            alert.dedupKey = "bus-fuzz.test"
            alert.details = ["k": "v"]
            return .alert(alert)
        case .status:
            var status = ServiceStatus()
            status.service = key
            status.instance = "fuzz"
            status.state = .running
            status.uptimeSeconds = 1
            status.intervalSeconds = 5
            status.counters = ["fuzz": 1]
            status.version = "0.1.0"
            return .status(status)
        case .timer:
            var timer = TimerEvent()
            timer.name = key
            timer.tradingDay = "2026-01-02"
            timer.clockNs = now
            timer.count = 1
            return .timer(timer)
        }
    }

    func encoded(_ envelope: Envelope) -> [UInt8] { (try? Codec.encode(envelope)) ?? [] }

    // MARK: Randomness

    mutating func int(_ bound: Int) -> Int { bound > 0 ? Int(random.next() % UInt64(bound)) : 0 }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    mutating func bytes(count: Int) -> [UInt8] {
        var words: [UInt64] = []
        words.reserveCapacity(count / 8 + 1)
        for _ in 0..<(count / 8 + 1) { words.append(random.next()) }
        return words.withUnsafeBytes { Array($0.prefix(count)) }
    }

    mutating func flipBits(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        for _ in 0..<(1 + int(8)) {
            let index = int(bytes.count)
            bytes[index] ^= UInt8(1) << UInt8(int(8))
        }
    }
}
