import Foundation

/// A table of captioned images, one row per item: used by `translate --html`
/// (file, input, output) and by `test` (real_A, fake_B, real_B per image,
/// plus a summary line).
public struct ImageTableRow: Sendable, Equatable {
    public var label: String
    public var cells: [SampleImage]
    public init(label: String, cells: [SampleImage]) {
        self.label = label
        self.cells = cells
    }
}

public enum ImageTablePage {
    /// A page with a title, an optional summary line and one table row per
    /// item: its label, then each image with its caption under it.
    /// `details` are further header lines (translate: the model, the counts and the time);
    /// `failures` (file, reason) are listed under the header.
    public static func html(title: String, summary: String?, details: [String] = [],
                            failures: [(file: String, reason: String)] = [], rows: [ImageTableRow]) -> String {
        var body = "<h1>\(HTML.escape(title))</h1>\n"
        if let summary { body += "<p class=\"meta\">\(HTML.escape(summary))</p>\n" }
        for line in details { body += "<p class=\"meta\">\(HTML.escape(line))</p>\n" }
        if !failures.isEmpty {
            body += "<h2>\(HTML.escape("Failed (\(failures.count))"))</h2>\n<ul class=\"failures\">\n"
            for f in failures { body += "<li><code>\(HTML.escape(f.file))</code>: \(HTML.escape(f.reason))</li>\n" }
            body += "</ul>\n"
        }
        if rows.isEmpty {
            body += "<p class=\"meta\">\(HTML.escape("No images."))</p>\n"
        } else {
            body += "<div class=\"scroll\"><table>\n"
            for row in rows {
                body += "<tr><th scope=\"row\">\(HTML.escape(row.label))</th>"
                for cell in row.cells {
                    body += "<td><figure><img src=\"\(HTML.url(cell.path))\" alt=\"\(HTML.escape(cell.caption))\" "
                        + "loading=\"lazy\"><figcaption>\(HTML.escape(cell.caption))</figcaption></figure></td>"
                }
                body += "</tr>\n"
            }
            body += "</table></div>\n"
        }
        return HTML.document(title: title, style: style, body: body)
    }

    static let style = """
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; }
        th { text-align: left; font-weight: 600; font-size: .9rem; padding: .4rem .6rem .4rem 0; \
        vertical-align: middle; max-width: 14rem; overflow-wrap: anywhere; }
        td { padding: .3rem; vertical-align: top; }
        tr + tr th, tr + tr td { border-top: 1px solid #eee; }
        td img { width: 256px; max-width: 28vw; }
        @media (max-width: 640px) {
          tr { display: flex; flex-wrap: wrap; gap: .4rem; padding-bottom: .4rem; }
          th { flex: 0 0 100%; max-width: none; padding: .6rem 0 0; }
          td { flex: 1 1 0; min-width: 0; padding: 0; }
          tr + tr td { border-top: none; }
          td img { width: 100%; max-width: 100%; }
        }
        """
}
