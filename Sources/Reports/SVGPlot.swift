import Foundation

/// One small line plot as inline SVG: y axis with its own range, x axis =
/// iteration, raw points faint, an exponential moving average on top, epoch
/// starts as light vertical lines labeled with the epoch number.
struct SVGPlot {
    var title: String
    var points: [(x: Double, y: Double)]   // in log order; non-finite y already removed
    var epochStarts: [(x: Double, epoch: Int)]
    var color: String
    var smoothing = 0.6

    // Geometry in user units; the SVG scales to its container's width.
    static let width = 360.0, height = 210.0
    static let left = 50.0, right = 12.0, top = 16.0, bottom = 24.0
    static let maxPointsPerSeries = 1200

    /// TensorBoard's smoothing: an exponential moving average, debiased so
    /// that the first values are not pulled towards zero.
    static func ema(_ ys: [Double], weight: Double) -> [Double] {
        var last = 0.0, n = 0.0
        return ys.map { y in
            last = last * weight + (1 - weight) * y
            n += 1
            let debias = 1 - pow(weight, n)
            return debias > 0 ? last / debias : y
        }
    }

    /// 1, 2 or 5 times a power of ten, about `count` steps over `span`.
    static func niceStep(_ span: Double, count: Double) -> Double {
        guard span > 0, span.isFinite else { return 1 }
        let raw = span / count
        let mag = pow(10, floor(log10(raw)))
        let f = raw / mag
        return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag
    }

    static func ticks(_ lo: Double, _ hi: Double, count: Double) -> [Double] {
        let step = niceStep(hi - lo, count: count)
        var t = (lo / step).rounded(.up) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9, out.count < 20 {
            out.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return out
    }

    /// Keeps at most about `limit` points: the first and last, and per x
    /// bucket the lowest and the highest in their order, so spikes survive.
    static func decimate(_ pts: [(x: Double, y: Double)], limit: Int) -> [(x: Double, y: Double)] {
        guard pts.count > limit, let x0 = pts.first?.x, let x1 = pts.last?.x, x1 > x0 else { return pts }
        let buckets = max(1, limit / 2)
        var out: [(x: Double, y: Double)] = []
        var i = 0
        while i < pts.count {
            let b = min(buckets - 1, Int((pts[i].x - x0) / (x1 - x0) * Double(buckets)))
            var lo = i, hi = i, j = i
            while j < pts.count, min(buckets - 1, Int((pts[j].x - x0) / (x1 - x0) * Double(buckets))) == b {
                if pts[j].y < pts[lo].y { lo = j }
                if pts[j].y > pts[hi].y { hi = j }
                j += 1
            }
            for k in Set([i, lo, hi, j - 1]).sorted() { out.append(pts[k]) }
            i = j
        }
        return out
    }

    func svg() -> String {
        let W = Self.width, H = Self.height
        let pl = Self.left, pr = W - Self.right, pt = Self.top, pb = H - Self.bottom
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" "
            + "viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">\n"
        s += "<rect x=\"\(f(pl))\" y=\"\(f(pt))\" width=\"\(f(pr - pl))\" height=\"\(f(pb - pt))\" class=\"frame\"/>\n"
        guard !points.isEmpty else {
            s += "<text x=\"\(f(W / 2))\" y=\"\(f(H / 2))\" text-anchor=\"middle\" class=\"lbl\">"
                + "\(HTML.escape("no finite values"))</text>\n</svg>"
            return s
        }
        let smooth = Self.ema(points.map(\.y), weight: smoothing)

        // Ranges, padded so that lines do not sit on the frame.
        var xLo = points.map(\.x).min()!, xHi = points.map(\.x).max()!
        if xHi <= xLo { xLo -= 1; xHi += 1 }
        var yLo = points.map(\.y).min()!, yHi = points.map(\.y).max()!
        if yHi <= yLo {
            let d = abs(yLo) > 0 ? abs(yLo) * 0.1 : 1
            yLo -= d; yHi += d
        }
        let pad = (yHi - yLo) * 0.05
        yLo -= pad; yHi += pad
        func px(_ x: Double) -> Double { pl + (x - xLo) / (xHi - xLo) * (pr - pl) }
        func py(_ y: Double) -> Double { pb - (y - yLo) / (yHi - yLo) * (pb - pt) }

        // Grid and y ticks.
        for t in Self.ticks(yLo, yHi, count: 4) {
            let y = py(t)
            s += "<line x1=\"\(f(pl))\" x2=\"\(f(pr))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
            s += "<text x=\"\(f(pl - 4))\" y=\"\(f(y + 3.5))\" text-anchor=\"end\" class=\"lbl\">"
                + "\(HTML.escape(compactNumber(t)))</text>\n"
        }
        // x ticks.
        for t in Self.ticks(xLo, xHi, count: 4) {
            let x = px(t)
            s += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(pb))\" y2=\"\(f(pb + 3))\" class=\"axis\"/>"
            s += "<text x=\"\(f(x))\" y=\"\(f(pb + 14))\" text-anchor=\"middle\" class=\"lbl\">"
                + "\(HTML.escape(compactNumber(t)))</text>\n"
        }
        // Epoch starts: every line while they are at least 2 units apart, a
        // label where it does not collide with the previous one.
        var lastLine = -Double.infinity, lastLabel = -Double.infinity
        for e in epochStarts where e.x > xLo && e.x <= xHi {
            let x = px(e.x)
            guard x - lastLine >= 2 else { continue }
            lastLine = x
            s += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(pt))\" y2=\"\(f(pb))\" class=\"epoch\"/>"
            let label = String(e.epoch)
            if x - lastLabel >= Double(label.count) * 6 + 6, x + 2 + Double(label.count) * 5.5 <= W {
                lastLabel = x
                s += "<text x=\"\(f(x + 2))\" y=\"\(f(pt - 4))\" class=\"elbl\">\(HTML.escape(label))</text>"
            }
            s += "\n"
        }
        // Data: raw faint, smoothed on top.
        let raw = Self.decimate(points, limit: Self.maxPointsPerSeries)
        let sm = Self.decimate(zip(points, smooth).map { (x: $0.0.x, y: $0.1) }, limit: Self.maxPointsPerSeries)
        func polyline(_ p: [(x: Double, y: Double)], cls: String) -> String {
            let coords = p.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            return "<polyline points=\"\(coords)\" class=\"\(cls)\" stroke=\"\(HTML.escape(color))\"/>\n"
        }
        if points.count == 1 {
            s += "<circle cx=\"\(f(px(points[0].x)))\" cy=\"\(f(py(points[0].y)))\" r=\"2.5\" "
                + "fill=\"\(HTML.escape(color))\"/>\n"
        }
        s += polyline(raw, cls: "raw")
        s += polyline(sm, cls: "smooth")
        s += "</svg>"
        return s
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
