import Foundation
import ImageIO
import Reports

/// OUTPUT/index.html: every input of `plan` beside its output (those that exist), for a quick
/// look in a browser; inputs are linked by absolute file URL, outputs relative to the page.
/// Returns the page's path.
@discardableResult
public func writeComparisonPage(plan: TranslationPlan, output: String, title: String) throws -> String {
    var rows: [ImageTableRow] = []
    for item in (plan.done + plan.todo).sorted(by: { $0.relativePath < $1.relativePath })
    where FileManager.default.fileExists(atPath: item.destination) {
        let source = URL(fileURLWithPath: item.source).absoluteURL.path
        let rel = String(item.destination.dropFirst(output.count + 1))
        rows.append(ImageTableRow(label: item.relativePath, cells: [SampleImage(caption: "input", path: source),
                                                                    SampleImage(caption: "output", path: rel)]))
    }
    let path = output + "/index.html"
    try writeFileAtomically(Array(ImageTablePage.html(title: title, summary: nil, rows: rows).utf8), to: path)
    return path
}
