import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client on a plain socket, so tests control every byte: a Content-Length
/// that lies, a body sent in pieces or never finished, a connection dropped at any point.
struct HTTPTestClient {
    struct Response {
        var status: Int
        var headers: [String: String]  // lower-cased names
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    let port: Int

    /// A connected socket (closed by `close`), with a receive timeout.
    final class Connection {
        // Closed exactly once: the server runs in this process, so a second close() could close
        // a descriptor the server has been given since (NIO then traps on EBADF).
        private(set) var fd: Int32
        init(port: Int, timeout: Int = 120) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
            var tv = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard r == 0 else {
                let e = errno
                close()
                throw Failure(description: "connect: \(e)")
            }
        }

        /// Sends all of `bytes`; false when the peer has closed.
        @discardableResult
        func send(_ bytes: [UInt8]) -> Bool {
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                off += n
            }
            return true
        }

        func send(_ s: String) { send(Array(s.utf8)) }

        /// Reads one response (Content-Length or until close).
        func readResponse() throws -> Response {
            var buf: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            func fill() throws -> Bool {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 { throw Failure(description: "recv: errno \(errno)") }
                if n == 0 { return false }
                buf += chunk[0..<n]
                return true
            }
            let sep: [UInt8] = [13, 10, 13, 10]
            var headEnd: Int?
            while headEnd == nil {
                if let r = find(sep, in: buf) { headEnd = r; break }
                guard try fill() else { throw Failure(description: "connection closed before a response head") }
            }
            let head = String(decoding: buf[0..<headEnd!], as: UTF8.self).components(separatedBy: "\r\n")
            let statusParts = head[0].split(separator: " ")
            guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(head[0])") }
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let c = line.firstIndex(of: ":") else { continue }
                headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
            }
            var body = Array(buf[(headEnd! + 4)...])
            if let len = headers["content-length"].flatMap(Int.init) {
                while body.count < len {
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { throw Failure(description: "body ended at \(body.count) of \(len)") }
                    body += chunk[0..<n]
                }
                body = Array(body[0..<len])
            } else {
                while true {
                    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    body += chunk[0..<n]
                }
            }
            return Response(status: status, headers: headers, body: body)
        }

        func close() {
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
        deinit { close() }
    }

    /// One request on a new connection.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil) throws -> Response {
        let c = try Connection(port: port)
        defer { c.close() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body, headers["Content-Length"] == nil, headers["Transfer-Encoding"] == nil { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        c.send(Array(head.utf8) + (body ?? []))
        return try c.readResponse()
    }

    func get(_ path: String, headers: [String: String] = [:]) throws -> Response { try request("GET", path, headers: headers) }

    func post(_ path: String, _ body: [UInt8], headers: [String: String] = [:]) throws -> Response {
        try request("POST", path, headers: headers, body: body)
    }
}

func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
        return i
    }
    return nil
}
