import Foundation
import ImageIO
import Checkpoint

/// The run's loss log (JSON lines) and its HTML page: sample grids per epoch and loss curves
/// as inline SVG. The page uses no scripts, fonts or files from elsewhere, so it opens from disk.
final class RunReport {
    let directory: String
    let title: String
    var indexPath: String { directory + "/index.html" }
    var logPath: String { directory + "/loss_log.jsonl" }
    private(set) var points: [(iteration: Int, epoch: Int, losses: [(String, Float)])] = []

    init(directory: String, title: String) {
        self.directory = directory
        self.title = title
    }

    func resetLog() {
        try? FileManager.default.removeItem(atPath: logPath)
        points = []
    }

    /// Reads back an earlier session's log (after --continue).
    func loadLog() {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let it = obj["iter"] as? Int, let ep = obj["epoch"] as? Int else { continue }
            var losses: [(String, Float)] = []
            for (k, v) in obj where k != "iter" && k != "epoch" {
                if let d = v as? Double { losses.append((k, Float(d))) }
            }
            points.append((it, ep, losses.sorted { $0.0 < $1.0 }))
        }
    }

    func log(epoch: Int, iteration: Int, losses: [(name: String, value: Float)]) {
        points.append((iteration, epoch, losses.map { ($0.name, $0.value) }))
        let fields = ["\"epoch\":\(epoch)", "\"iter\":\(iteration)"] + losses.map { "\"\($0.name)\":\($0.value)" }
        let line = "{" + fields.joined(separator: ",") + "}\n"
        if let h = FileHandle(forWritingAtPath: logPath) {
            h.seekToEndOfFile()
            h.write(Data(line.utf8))
            try? h.close()
        } else {
            _ = FileManager.default.createFile(atPath: logPath, contents: Data(line.utf8))
        }
    }

    func addEpoch(_ epoch: Int, grid: Image?) throws {
        let images = directory + "/web/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        if let grid {
            try writeImage(grid, to: images + String(format: "/epoch%03d.png", epoch), format: .png)
        }
        try AtomicFile.write(Array(html().utf8), to: indexPath)
    }

    func html() -> String {
        let grids = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/web/images")) ?? [])
            .filter { $0.hasPrefix("epoch") && $0.hasSuffix(".png") }.sorted().reversed()
        var s = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>body{font-family:sans-serif;margin:24px;background:#fafafa;color:#222}
        h2{margin-top:32px}img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}
        .plot{background:#fff;border:1px solid #ccc}</style></head><body>
        <h1>\(escape(title))</h1>
        <p>Updated \(ISO8601DateFormatter().string(from: Date())). Losses from loss_log.jsonl; samples per epoch below.</p>
        <h2>Losses</h2>

        """
        s += lossPlot()
        s += "<h2>Samples</h2>\n"
        for g in grids {
            let epoch = Int(g.dropFirst(5).dropLast(4)) ?? 0
            s += "<h3>epoch \(epoch)</h3>\n<img src=\"web/images/\(g)\" alt=\"samples of epoch \(epoch)\">\n"
        }
        s += "</body></html>\n"
        return s
    }

    /// One SVG with a polyline per loss against the iteration.
    func lossPlot() -> String {
        guard points.count >= 1 else { return "<p>No losses logged yet.</p>\n" }
        var names: [String] = []
        for p in points { for (n, _) in p.losses where !names.contains(n) { names.append(n) } }
        let (W, H, left, bottom, top, right) = (900.0, 360.0, 60.0, 40.0, 20.0, 160.0)
        let xs = points.map { Double($0.iteration) }
        let vals = points.flatMap { $0.losses.map { Double($0.1) } }.filter { $0.isFinite }
        let x0 = xs.min() ?? 0, x1 = max((xs.max() ?? 1), x0 + 1)
        var y0 = vals.min() ?? 0, y1 = vals.max() ?? 1
        if y1 - y0 < 1e-6 { y0 -= 0.5; y1 += 0.5 }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (W - left - right) }
        func py(_ y: Double) -> Double { H - bottom - (y - y0) / (y1 - y0) * (H - bottom - top) }
        let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
        var s = "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\">\n"
        s += "<line x1=\"\(left)\" y1=\"\(H - bottom)\" x2=\"\(W - right)\" y2=\"\(H - bottom)\" stroke=\"#444\"/>\n"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(H - bottom)\" stroke=\"#444\"/>\n"
        for k in 0...4 {
            let y = y0 + (y1 - y0) * Double(k) / 4
            s += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" font-size=\"11\" text-anchor=\"end\">\(String(format: "%.3g", y))</text>\n"
            let x = x0 + (x1 - x0) * Double(k) / 4
            s += "<text x=\"\(px(x))\" y=\"\(H - bottom + 16)\" font-size=\"11\" text-anchor=\"middle\">\(Int(x))</text>\n"
        }
        s += "<text x=\"\((left + W - right) / 2)\" y=\"\(H - 6)\" font-size=\"12\" text-anchor=\"middle\">iteration</text>\n"
        for (i, n) in names.enumerated() {
            let c = colors[i % colors.count]
            let pts = points.compactMap { p -> String? in
                guard let v = p.losses.first(where: { $0.0 == n })?.1, v.isFinite else { return nil }
                return String(format: "%.1f,%.1f", px(Double(p.iteration)), py(Double(v)))
            }
            if pts.count == 1 {
                let xy = pts[0].split(separator: ",")
                s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(c)\"/>\n"
            } else {
                s += "<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\"\(pts.joined(separator: " "))\"/>\n"
            }
            let ly = top + 16 * Double(i) + 8
            s += "<rect x=\"\(W - right + 12)\" y=\"\(ly - 8)\" width=\"12\" height=\"3\" fill=\"\(c)\"/>"
            s += "<text x=\"\(W - right + 30)\" y=\"\(ly - 3)\" font-size=\"12\">\(escape(n))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    func escape(_ t: String) -> String {
        t.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
