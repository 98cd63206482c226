import Foundation
import ServiceKit

/// Config checks the streaming providers share; each failure names the JSON path.
enum StreamingConfig {
    /// A credential that must be present and non-empty.
    static func secret(_ value: Secret?, path: String, provider: String, what: String) throws(ConfigError) -> Secret {
        guard let value, !value.value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError(path: path, message: "\(provider) needs \(what); set \(path) (or its environment variable)")
        }
        return value
    }

    /// The first non-empty URL among `candidates` (in order), checked to be `ws://` or `wss://`.
    /// - Returns: the URL and the path it came from; `nil` when all are empty.
    static func webSocketURL(_ candidates: [(path: String, value: String)]) throws(ConfigError) -> (
        url: String, path: String
    )? {
        for candidate in candidates {
            let url = candidate.value.trimmingCharacters(in: .whitespaces)
            guard !url.isEmpty else { continue }
            guard WebSocketTarget(url) != nil else {
                throw ConfigError(
                    path: candidate.path,
                    message: "'\(URLRedaction.redact(url))' is not a WebSocket URL (ws://host[:port]/path or wss://…)")
            }
            return (url, candidate.path)
        }
        return nil
    }

    /// The provider URL override (`provider_url`), which every provider honours first.
    static func override(_ config: TickwireConfig) -> (path: String, value: String) {
        ("provider_url", config.providerUrl)
    }

    /// What a refused WebSocket upgrade means when the provider has nothing more specific: a
    /// temporary condition (retry with backoff), with the HTTP status when it could be read.
    static func refusal(provider: String, url rawURL: String, status: Int?) -> ProviderIssue {
        let url = URLRedaction.redact(rawURL)
        guard let status else {
            return ProviderIssue(.unreachable, "\(provider): \(url) refused the WebSocket upgrade")
        }
        let kind: ProviderIssue.Kind = status == 429 ? .rateLimited : .httpStatus
        return ProviderIssue(kind, "\(provider): \(url) refused the WebSocket upgrade with HTTP \(status)", code: status)
    }

    /// `symbols` must not be empty: a stream with no subscription never delivers anything.
    static func requireSymbols(_ symbols: [String], provider: String) throws(ProviderIssue) {
        if symbols.isEmpty {
            throw ProviderIssue(.invalidRequest, "\(provider): no symbols to subscribe to (tickers is empty)", isFatal: true)
        }
    }
}
