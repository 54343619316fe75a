import Foundation

/// The one place where text and paths become HTML.
///
/// Every page of the tool is built by this module and every piece of text or
/// path that goes into one passes through `escape` or `url` (which ends in
/// `escape`). Pages reference nothing outside themselves but the images they
/// show: CSS and SVG are inline, so a page opens from disk.
public enum HTML {
    /// Escapes text for element content and attribute values: & < > " '
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// A path or URL placed in src/href: percent-encode characters that would
    /// break a URL (space, #, ?, %, non-ASCII) per path component, keep '/',
    /// then HTML-escape. Absolute file paths become file:// URLs.
    ///
    /// Only `http:`, `https:` and `file:` strings are taken as URLs (then only
    /// spaces, non-ASCII and other characters invalid in a URL are encoded);
    /// anything else is a path, whose ':' is encoded too, so that
    /// `javascript:x` or `c:d.png` stay relative file names.
    public static func url(_ pathOrURL: String) -> String {
        let lower = pathOrURL.lowercased()
        if ["http://", "https://", "file://"].contains(where: { lower.hasPrefix($0) }) {
            return escape(percentEncode(pathOrURL, allowed: urlAllowed))
        }
        let encoded = pathOrURL
            .split(separator: "/", omittingEmptySubsequences: false)
            .map { percentEncode(String($0), allowed: componentAllowed) }
            .joined(separator: "/")
        return escape(pathOrURL.hasPrefix("/") ? "file://" + encoded : encoded)
    }

    // MARK: - Internal

    /// RFC 3986 unreserved characters and the sub-delimiters that are harmless
    /// inside one path component (no '/', '?', '#', '%', ':').
    private static let componentAllowed = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=@")

    /// Every character that may appear in a URL as written (reserved ones and '%' included).
    private static let urlAllowed = componentAllowed.union(CharacterSet(charactersIn: ":/?#[]%"))

    private static func percentEncode(_ s: String, allowed: CharacterSet) -> String {
        s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A complete page: doctype, UTF-8, phone-friendly viewport, inline CSS.
    /// `body` must already be HTML (built with `escape` / `url`).
    static func document(title: String, style: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        \(baseStyle)
        \(style)
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }

    private static let baseStyle = """
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1rem auto; \
        padding: 0 1rem; max-width: 1400px; color: #222; background: #fff; }
        h1 { font-size: 1.4rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
        h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
        h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
        .meta { color: #666; font-size: .9rem; margin: 0 0 1rem; }
        figure { margin: 0; }
        figcaption { font-size: .85rem; color: #444; text-align: center; overflow-wrap: anywhere; }
        img { display: block; max-width: 100%; height: auto; background: #f3f3f3; }
        """
}

/// Compact axis numbers: `%.3g`, with k / M suffixes from a thousand up
/// (12000 -> "12k"), so that tick labels stay a few characters wide.
func compactNumber(_ v: Double) -> String {
    let a = abs(v)
    if a >= 1e3 && a < 1e9 {
        let (scaled, suffix) = a >= 1e6 ? (v / 1e6, "M") : (v / 1e3, "k")
        return String(format: "%.3g", scaled) + suffix
    }
    if a < 1e-12 { return "0" }
    return String(format: "%.3g", v)
}
