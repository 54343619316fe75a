import Foundation

/// An image on a page, with its caption; `path` is relative to the page.
public struct SampleImage: Sendable, Equatable {
    public var caption: String
    public var path: String
    public init(caption: String, path: String) {
        self.caption = caption
        self.path = path
    }
}

/// The sample images saved at the end of one epoch (real_A, fake_B, rec_A, ...).
public struct EpochSamples: Sendable, Equatable {
    public var epoch: Int
    public var images: [SampleImage]
    public init(epoch: Int, images: [SampleImage]) {
        self.epoch = epoch
        self.images = images
    }
}

/// The run's index.html: loss plots, then the samples of each epoch.
public enum TrainingReportPage {
    /// The run's index.html: title, an "updated" line, then one small SVG plot
    /// PER LOSS (each with its own y axis, raw points faint plus a smoothed
    /// line, TensorBoard's exponential moving average of weight 0.6; x axis =
    /// iteration, epoch starts marked as light vertical lines labeled with the
    /// epoch number), plus a plot of the learning rate and one of images per
    /// second when those values exist; plots in a responsive CSS grid. Then
    /// samples per epoch, latest epoch first, each epoch a row of images with
    /// their caption under each. `entries` in log order. Non-finite values are
    /// skipped in plots.
    ///
    /// When `iter` counts within an epoch (it goes back down when a new epoch
    /// starts), the x axis continues from where the previous epoch ended.
    public static func html(title: String, updated: Date, entries: [LossLogEntry], samples: [EpochSamples],
                            skipped: [String] = []) -> String {
        html(title: title, updated: updated, entries: entries, samples: samples, smoothing: 0.6, skipped: skipped)
    }

    /// As above, with the weight of the moving average (0 = no smoothing, < 1).
    public static func html(title: String, updated: Date, entries: [LossLogEntry], samples: [EpochSamples],
                            smoothing: Double, skipped: [String] = []) -> String {
        let xs = xPositions(entries)
        let starts = epochStarts(entries, xs: xs)
        var plots: [SVGPlot] = []
        func series(_ value: (LossLogEntry) -> Double?) -> [(x: Double, y: Double)] {
            zip(entries, xs).compactMap { e, x in value(e).flatMap { $0.isFinite ? (x: x, y: $0) : nil } }
        }
        func add(_ name: String, smoothing: Double = smoothing, _ value: @escaping (LossLogEntry) -> Double?) {
            let pts = series(value)
            let present = entries.contains { value($0) != nil }
            guard present else { return }
            plots.append(SVGPlot(title: name, points: pts, epochStarts: starts,
                                 color: palette[plots.count % palette.count], smoothing: smoothing))
        }
        for name in lossNames(entries) { add(name) { $0.losses[name] } }
        add("learning rate", smoothing: 0) { $0.learningRate }  // a schedule, not a measurement
        add("images / s") { $0.imagesPerSecond }

        var body = "<h1>\(HTML.escape(title))</h1>\n"
        var meta = "updated \(timestamp(updated))"
        if let last = entries.last { meta += " · epoch \(last.epoch), iteration \(last.iteration)" }
        meta += " · \(entries.count) log entries"
        body += "<p class=\"meta\">\(HTML.escape(meta))</p>\n"
        if !skipped.isEmpty {
            // Bad input files were left out of training: named, so that they can be fixed.
            body += "<p class=\"meta\">" + HTML.escape("\(skipped.count) input file\(skipped.count == 1 ? "" : "s") skipped "
                + "(unreadable or not images): " + skipped.prefix(20).joined(separator: ", ")
                + (skipped.count > 20 ? ", ..." : "")) + "</p>\n"
        }

        body += "<h2>\(HTML.escape("Losses"))</h2>\n"
        if plots.isEmpty {
            body += "<p class=\"meta\">\(HTML.escape("No loss values logged yet."))</p>\n"
        } else {
            let note = "x: iteration · faint: raw values · bold: moving average (weight \(String(format: "%.3g", smoothing)))"
                + (starts.isEmpty ? "" : " · vertical lines: start of each epoch")
            body += "<p class=\"meta\">\(HTML.escape(note))</p>\n<div class=\"plots\">\n"
            for p in plots {
                let lastRaw = p.points.last.map { compactNumber($0.y) } ?? "–"
                var last = "last \(lastRaw)"
                if p.smoothing > 0, let s = SVGPlot.ema(p.points.map(\.y), weight: p.smoothing).last {
                    last += " · smoothed \(compactNumber(s))"
                }
                body += "<figure class=\"plot\"><figcaption><b>\(HTML.escape(p.title))</b> "
                    + "<span>\(HTML.escape(last))</span></figcaption>\n"
                body += p.svg() + "\n</figure>\n"
            }
            body += "</div>\n"
        }

        body += "<h2>\(HTML.escape("Samples"))</h2>\n"
        let epochs = samples.enumerated().sorted {
            $0.element.epoch != $1.element.epoch ? $0.element.epoch > $1.element.epoch : $0.offset < $1.offset
        }.map(\.element)
        if epochs.isEmpty { body += "<p class=\"meta\">\(HTML.escape("No samples saved yet."))</p>\n" }
        for e in epochs {
            body += "<section class=\"epoch-samples\" id=\"\(HTML.escape("epoch-\(e.epoch)"))\">"
                + "<h3>\(HTML.escape("epoch \(e.epoch)"))</h3>\n<div class=\"samples\">\n"
            for img in e.images {
                body += "<figure><img src=\"\(HTML.url(img.path))\" alt=\"\(HTML.escape(img.caption))\" loading=\"lazy\">"
                    + "<figcaption>\(HTML.escape(img.caption))</figcaption></figure>\n"
            }
            body += "</div></section>\n"
        }
        return HTML.document(title: title, style: style, body: body)
    }

    // MARK: - Internal

    /// Loss names in order of first appearance in the log.
    static func lossNames(_ entries: [LossLogEntry]) -> [String] {
        var seen = Set<String>(), names: [String] = []
        for e in entries {
            for k in e.losses.keys.sorted() where seen.insert(k).inserted { names.append(k) }
        }
        return names
    }

    /// The x of each entry: its iteration, made cumulative when the counter
    /// goes back down (iterations counted within an epoch).
    static func xPositions(_ entries: [LossLogEntry]) -> [Double] {
        var offset = 0.0, prevIter: Int? = nil, prevX = 0.0
        return entries.map { e in
            if let p = prevIter, e.iteration < p { offset = prevX }
            prevIter = e.iteration
            prevX = offset + Double(e.iteration)
            return prevX
        }
    }

    /// Where each epoch after the first one starts: halfway between the last
    /// entry of the previous epoch and the first of the new one.
    static func epochStarts(_ entries: [LossLogEntry], xs: [Double]) -> [(x: Double, epoch: Int)] {
        var out: [(x: Double, epoch: Int)] = []
        for i in entries.indices.dropFirst() where entries[i].epoch != entries[i - 1].epoch {
            out.append((x: (xs[i - 1] + xs[i]) / 2, epoch: entries[i].epoch))
        }
        return out
    }

    static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss ZZZZZ"
        return f.string(from: date)
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    static let style = """
        .plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
        .plot { border: 1px solid #e3e3e3; border-radius: 6px; padding: .4rem .5rem .2rem; min-width: 0; }
        .plot figcaption { text-align: left; font-size: .9rem; margin-bottom: .1rem; }
        .plot figcaption span { color: #777; font-size: .8rem; margin-left: .4rem; }
        .plot svg { display: block; width: 100%; height: auto; }
        svg .frame { fill: none; stroke: #bbb; stroke-width: 1; }
        svg .grid { stroke: #eee; stroke-width: 1; }
        svg .axis { stroke: #999; stroke-width: 1; }
        svg .epoch { stroke: #c8c8c8; stroke-width: 1; stroke-dasharray: 3 3; }
        svg .lbl { font-size: 10px; fill: #555; font-family: system-ui, sans-serif; }
        svg .elbl { font-size: 10px; fill: #999; font-family: system-ui, sans-serif; }
        svg .raw { fill: none; stroke-width: 1; stroke-opacity: .25; stroke-linejoin: round; }
        svg .smooth { fill: none; stroke-width: 1.8; stroke-linejoin: round; stroke-linecap: round; }
        .epoch-samples h3 { margin-top: 1.2rem; }
        .samples { display: flex; flex-wrap: wrap; gap: .6rem; }
        .samples figure { flex: 0 1 180px; min-width: 110px; }
        .samples img { width: 100%; image-rendering: auto; }
        """
}
