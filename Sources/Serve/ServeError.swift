import Foundation
import Hummingbird
import ImageIO

/// Every way a request (or the server's start) can fail, with its HTTP status. Handlers throw
/// only this; `ErrorMiddleware` turns it into a JSON body `{"error": KIND, "message": TEXT}`.
public struct ServeError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// 400: a query parameter or header is wrong.
        case badRequest = "bad_request"
        /// 400: the body is not a PNG or JPEG.
        case notAnImage = "not_an_image"
        /// 400: the body is a PNG or JPEG that cannot be decoded.
        case corrupt
        /// 400: the body ended before the image did.
        case truncated
        /// 400: a valid image the decoder does not support (12-bit or lossless JPEG).
        case unsupported
        /// 401: the token is missing or wrong.
        case unauthorized
        /// 404: no such model, or no such path.
        case notFound = "not_found"
        /// 405: the path exists with another method.
        case methodNotAllowed = "method_not_allowed"
        /// 413: the body is over --max-upload-mb.
        case uploadTooLarge = "upload_too_large"
        /// 413: the decoded image is over the pixel or --max-image-mb cap.
        case imageTooLarge = "image_too_large"
        /// 503: the translation queue is full (the response has Retry-After).
        case busy
        /// 499 (nginx's "client closed request"): the client hung up before its answer; only
        /// ever seen in the metrics, as nobody is left to read it.
        case clientGone = "client_gone"
        /// 500: a failure of the server itself.
        case `internal`
        /// The server cannot start (not a request error).
        case badConfiguration = "bad_configuration"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var status: HTTPResponse.Status {
        switch kind {
        case .badRequest, .notAnImage, .corrupt, .truncated, .unsupported: return .badRequest
        case .unauthorized: return .unauthorized
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .uploadTooLarge, .imageTooLarge: return .contentTooLarge
        case .busy: return .serviceUnavailable
        case .clientGone: return HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
        case .internal, .badConfiguration: return .internalServerError
        }
    }

    public var description: String { message }

    /// A decoding error of ImageIO as the client's error (the message names the problem, never a path).
    init(decoding e: ImageIOError) {
        var e = e
        e.path = nil
        switch e.kind {
        case .notAnImage: self.init(.notAnImage, e.description)
        case .corrupt: self.init(.corrupt, e.description)
        case .truncated: self.init(.truncated, e.description)
        case .unsupported: self.init(.unsupported, e.description)
        case .tooLarge: self.init(.imageTooLarge, e.description)
        case .io: self.init(.internal, e.description)
        }
    }

    /// The JSON body of an error response.
    struct Body: Codable, Equatable {
        var error: String
        var message: String
    }

    var jsonBody: Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? enc.encode(Body(error: kind.rawValue, message: message))) ?? Data()
    }
}
