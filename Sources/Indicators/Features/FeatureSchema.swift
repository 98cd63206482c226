import Crypto

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

    /// Index of each name.
    public func index(of feature: String) -> Int? { names.firstIndex(of: feature) }

    /// The schema `processor.feature_set` names, if any.
    public static func named(_ name: String) -> FeatureSchema? {
        name == FeaturePipeline.schema.name ? FeaturePipeline.schema : nil
    }
}
