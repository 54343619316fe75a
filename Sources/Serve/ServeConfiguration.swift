import ImageIO
import Translation

/// Everything `img2img serve` is told on its command line, as the library takes it.
public struct ServeConfiguration: Sendable {
    /// Address to bind; loopback unless told otherwise.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free one (tests).
    public var port: Int = 8080
    /// When set, `/v1/...` requires `Authorization: Bearer <token>`.
    public var token: String?
    /// Bodies above this many bytes are refused with 413 before they are read whole.
    public var maxUploadBytes: Int = 50 * 1_000_000
    /// Requests admitted at once (uploading, queued or translating); one more gets 503.
    public var maxQueue: Int = 16
    /// A connection that sends nothing for this long while its request is read (a stalled
    /// upload holding a place in the queue) or between requests is closed.
    public var idleTimeoutSeconds: Int = 30
    /// Seconds sent in `Retry-After` with a 503.
    public var retryAfterSeconds: Int = 1
    /// The decoder's caps: pixels (before any allocation) and decoded bytes; over them, 413.
    public var decoding = DecodingOptions(maxDecodedBytes: 400 * 1_000_000)
    /// Tiling of large images, as `img2img translate`'s defaults.
    public var tiling = TilingOptions()
    /// JPEG quality when `?format=jpeg` has no `quality` (translate's `--jpeg-quality` default).
    public var defaultJPEGQuality = 95

    public init() {}

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Things to tell the operator at start (printed on stderr by the executable).
    public var warnings: [String] {
        var w: [String] = []
        if !Self.isLoopback(host) && token == nil {
            w.append("warning: serving on \(host), which is not a loopback address, without --token: "
                     + "anyone who can reach this port can use the API")
        }
        return w
    }
}
