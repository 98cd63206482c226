import Crypto

/// The feature schema, a contract: the names, order and version of the feature vector and its
/// hash. Indicators computes it, the processor publishes it, Signals, Training and model files
/// check against it, and none of them needs another's code to know it.
///
/// A named, ordered, versioned list of features. Models record the schema hash they were
/// trained on and refuse vectors with another.
public struct FeatureSchema: Sendable, Equatable {
    public let name: String
    public let version: UInt32
    public let names: [String]
    /// The first 16 hex digits of SHA-256 over `"tickwire-features/<name>/<version>\n"`
    /// followed by the names joined with `"\n"`. Reproducible in any language (docs/features.md).
    public let hash: String

    public init(name: String, version: UInt32, names: [String]) {
        self.name = name
        self.version = version
        self.names = names
        let text = "tickwire-features/\(name)/\(version)\n" + names.joined(separator: "\n")
        let digest = SHA256.hash(data: Array(text.utf8))
        hash = String(digest.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined().prefix(16))
    }

    /// The `default` feature set, version 1: what the processor publishes (Indicators'
    /// `FeaturePipeline` computes exactly these, in this order) and what models are trained on.
    /// Changing names, order or meaning bumps the version.
    public static let `default` = FeatureSchema(name: "default", version: 1, names: [
        "ret_1", "ret_5", "ret_20", "realized_vol_20",
        "close_sma_5", "close_sma_20", "close_sma_50", "ema_5_ema_20", "ema_20_ema_50",
        "close_kama_30", "close_t3_5", "close_midpoint_14", "close_session_vwap",
        "bb_percent_b_20", "bb_width_20", "zscore_20", "sar_distance",
        "rsi_14", "macd_norm", "macdsignal_norm", "macdhist_norm",
        "stoch_slowk", "stoch_slowd", "stochf_fastk", "stochrsi_fastk", "stochrsi_fastd",
        "willr_14", "cci_14", "mfi_14", "cmo_14", "bop", "ultosc",
        "adx_14", "adxr_14", "dx_14", "plus_di_14", "minus_di_14",
        "mom_10_norm", "rocp_10", "ppo_12_26", "apo_norm",
        "aroon_up_14", "aroon_down_14", "aroonosc_14",
        "natr_14", "trange_norm", "volume_zscore_20", "obv_slope_10", "adosc_norm",
    ])

    /// Index of each name.
    public func index(of feature: String) -> Int? { names.firstIndex(of: feature) }

    /// The schema `processor.feature_set` names, if any.
    public static func named(_ name: String) -> FeatureSchema? {
        name == Self.default.name ? Self.default : nil
    }
}
