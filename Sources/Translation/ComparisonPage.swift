import Foundation
import ImageIO
import Reports

/// What OUTPUT/index.html says above the images.
public struct ComparisonPageHeader: Sendable {
    /// The model file as given (its name is the page's title).
    public var model: String
    /// The architecture in words ("resnet_9blocks, ngf 64, instance norm, 3->3 channels").
    public var architecture: String
    /// The input as given.
    public var input: String

    public init(model: String, architecture: String, input: String) {
        self.model = model
        self.architecture = architecture
        self.input = input
    }
}

/// OUTPUT/index.html: every input of `plan` beside its output (those that exist), under a
/// header naming the model, the counts, the time taken and every failed file with its reason.
/// Inputs and outputs are linked relative to the page, so the page opens from disk and keeps
/// working when the output folder and its input are moved together. Returns the page's path.
@discardableResult
public func writeComparisonPage(plan: TranslationPlan, summary: TranslationSummary, output: String,
                                header: ComparisonPageHeader) throws -> String {
    let page = URL(fileURLWithPath: output).standardized.path
    var rows: [ImageTableRow] = []
    for item in (plan.done + plan.todo).sorted(by: { $0.relativePath < $1.relativePath })
    where FileManager.default.fileExists(atPath: item.destination) {
        rows.append(ImageTableRow(label: item.relativePath, cells: [
            SampleImage(caption: "input", path: relativePath(from: page, to: item.source)),
            SampleImage(caption: "output", path: relativePath(from: page, to: item.destination)),
        ]))
    }
    let title = (header.model as NSString).lastPathComponent + " on " + header.input
    var counts = "translated \(summary.translated), already done \(summary.alreadyDone), failed \(summary.failures.count)"
    if summary.interrupted { counts += " (interrupted)" }
    let details = [
        "model: \(header.model) (\(header.architecture))",
        counts + " in " + String(format: "%.1f s", summary.elapsed),
    ]
    let path = output + "/index.html"
    let html = ImageTablePage.html(title: title, summary: nil, details: details,
                                   failures: summary.failures.map { (file: $0.path, reason: $0.reason) }, rows: rows)
    try writeFileAtomically(Array(html.utf8), to: path)
    return path
}

/// The path of `target` relative to the folder `from` (both made absolute and `..`-free
/// lexically, as a browser resolves `../` in a file URL): `../in/a.png`.
func relativePath(from folder: String, to target: String) -> String {
    let a = URL(fileURLWithPath: folder).standardized.path.split(separator: "/")
    let b = URL(fileURLWithPath: target).standardized.path.split(separator: "/")
    var common = 0
    while common < a.count, common < b.count - 1, a[common] == b[common] { common += 1 }
    let up = Array(repeating: "..", count: a.count - common)
    return (up + b[common...].map(String.init)).joined(separator: "/")
}
