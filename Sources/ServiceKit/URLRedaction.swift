import Foundation

/// Keeps secrets out of logs, alerts and errors: query parameters that carry credentials and
/// the user info of a URL are replaced by `<redacted>`, and so is every known secret value,
/// however short, wherever it appears in a text.
public enum URLRedaction {
    /// Query parameter names (compared case-insensitively) whose values are secrets.
    public static let secretParameters: Set<String> = [
        "apikey", "api_key", "key", "token", "access_token", "secret", "password", "passwd", "signature",
    ]

    public static let placeholder = "<redacted>"

    /// `url` with the values of ``secretParameters`` and any `user:password@` replaced.
    public static func redact(_ url: String) -> String {
        var result = url
        // User info: scheme://user:pass@host/…
        if let schemeEnd = result.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = result[authorityStart...].firstIndex(where: { "/?#".contains($0) }) ?? result.endIndex
            if let at = result[authorityStart..<authorityEnd].lastIndex(of: "@") {
                result.replaceSubrange(authorityStart..<at, with: placeholder)
            }
        }
        guard let queryStart = result.firstIndex(of: "?") else { return result }
        let fragmentStart = result[queryStart...].firstIndex(of: "#") ?? result.endIndex
        let query = result[result.index(after: queryStart)..<fragmentStart]
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<equals]
            guard secretParameters.contains(name.lowercased()) else { return String(pair) }
            return "\(name)=\(placeholder)"
        }.joined(separator: "&")
        result.replaceSubrange(result.index(after: queryStart)..<fragmentStart, with: redacted)
        return result
    }

    /// The secret values in `url` (raw and percent-decoded), to scrub from texts that might
    /// echo them.
    public static func secrets(in url: String) -> [String] {
        var values: [String] = []
        if let schemeEnd = url.range(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = url[authorityStart...].firstIndex(where: { "/?#".contains($0) }) ?? url.endIndex
            if let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") {
                let userInfo = url[authorityStart..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    values.append(String(userInfo[userInfo.index(after: colon)...]))
                }
            }
        }
        if let queryStart = url.firstIndex(of: "?") {
            let fragmentStart = url[queryStart...].firstIndex(of: "#") ?? url.endIndex
            for pair in url[url.index(after: queryStart)..<fragmentStart].split(separator: "&") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                guard secretParameters.contains(pair[..<equals].lowercased()) else { continue }
                let value = String(pair[pair.index(after: equals)...])
                values.append(value)
                if let decoded = value.replacingOccurrences(of: "+", with: " ").removingPercentEncodingIfValid,
                    decoded != value
                {
                    values.append(decoded)
                }
            }
        }
        return values.filter { !$0.isEmpty }
    }

    /// `text` with every secret of `url` replaced by `<redacted>`.
    public static func scrub(_ text: String, secretsOf url: String) -> String {
        scrub(text, secrets: secrets(in: url))
    }

    /// `text` with every one of `secrets` replaced by `<redacted>`.
    public static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        // Longest first, so a secret that contains another is replaced whole.
        // Short secrets too: a two-character password is still a password.
        for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            result = result.replacingOccurrences(of: secret, with: placeholder)
        }
        return result
    }
}

extension String {
    /// Percent-decoded, or nil when the escapes are not valid UTF-8.
    fileprivate var removingPercentEncodingIfValid: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
