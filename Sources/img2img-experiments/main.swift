// img2img-experiments: the measurements behind docs/ notes that need more than the CLI.
// Not a product; tools/cgan_experiment.sh drives it.
//
//   img2img-experiments fashion-mnist --idx DIR --output DIR [--limit N]
//       Fashion-MNIST idx files (uncompressed) -> DIR/train/<k>_<name>/*.png and DIR/test/...,
//       28x28 zero-padded to 32x32 (the background is black), gray PNG.
//   img2img-experiments classify --idx DIR --generated NAME=FOLDER ... [--epochs E] [--seed S]
//                                [--output table.md]
//       Trains a small CNN on the training set with img2img's engine (Adam, cross-entropy),
//       reports its test accuracy, then the share of each folder's images (files named
//       `<k>_<name>_<i>.png`, as `img2img generate` writes them) that it assigns to class k:
//       per class and overall, as a markdown table; and each folder's within-class spread
//       (mean per-pixel standard deviation in [-1, 1] units), which shows a generator that
//       ignores its noise, beside the real test images' own.
import Foundation
import Autograd
import ImageIO
import NN
import TensorCore
import _Files
import Training
import Trainers

let classNames = ["tshirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle_boot"]

struct ExperimentError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func emit(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8) ?? Data()) }

// MARK: - data

/// Images of an idx3 file as [N, 32, 32, 1] in [-1, 1] (28x28 centered, zero = -1 padding), and labels.
func readIDX(images path: String, labels lpath: String, limit: Int = .max) throws -> (Tensor, [Int]) {
    guard let b = try? readFile(path), let lb = try? readFile(lpath) else {
        throw ExperimentError("cannot read \(path) or \(lpath) (uncompressed idx files expected)")
    }
    func be32(_ a: [UInt8], _ o: Int) -> Int { Int(a[o]) << 24 | Int(a[o + 1]) << 16 | Int(a[o + 2]) << 8 | Int(a[o + 3]) }
    guard b.count >= 16, lb.count >= 8, be32(b, 0) == 2051, be32(lb, 0) == 2049 else {
        throw ExperimentError("\(path) / \(lpath): not idx3 images / idx1 labels")
    }
    let n = min(be32(b, 4), be32(lb, 4), limit), rows = be32(b, 8), cols = be32(b, 12)
    guard rows == 28, cols == 28, b.count >= 16 + n * 784, lb.count >= 8 + n else {
        throw ExperimentError("\(path): \(rows)x\(cols) images or a short file (28x28 expected)")
    }
    let t = Tensor(repeating: -1, shape: [n, 32, 32, 1])
    let p = t.uncheckedMutablePointer
    for i in 0..<n { for y in 0..<28 { for x in 0..<28 {
        p[(i * 32 + y + 2) * 32 + x + 2] = Float(b[16 + i * 784 + y * 28 + x]) / 127.5 - 1
    } } }
    return (t, (0..<n).map { Int(lb[8 + $0]) })
}

func folderName(_ k: Int) -> String { "\(k)_\(classNames[k])" }

func writeFolders(idx: String, output: String, limit: Int) throws {
    for (split, prefix) in [("train", "train"), ("test", "t10k")] {
        let (x, y) = try readIDX(images: "\(idx)/\(prefix)-images-idx3-ubyte", labels: "\(idx)/\(prefix)-labels-idx1-ubyte",
                                 limit: limit)
        for k in classNames.indices {
            try FileManager.default.createDirectory(atPath: "\(output)/\(split)/\(folderName(k))", withIntermediateDirectories: true)
        }
        let p = x.pointer
        for i in y.indices {
            let px = (0..<1024).map { UInt8(max(0, min(255, ((p[i * 1024 + $0] + 1) * 127.5).rounded()))) }
            try writeImage(Image(width: 32, height: 32, channels: 1, pixels8: px),
                           to: "\(output)/\(split)/\(folderName(y[i]))/\(i).png", format: .png)
        }
        emit("\(split): \(y.count) images")
    }
}

// MARK: - classifier

/// conv 3x3 (32) -> 4x4/2 (16) -> 4x4/2 (8) -> 4x4/2 (4), ReLU after each, linear to 10 logits.
final class Classifier: Module {
    let features: Sequential
    let head: Linear
    init() {
        features = Sequential([
            Conv2D(inChannels: 1, outChannels: 16, kernelSize: 3, stride: 1, padding: 1), ReLU(),
            Conv2D(inChannels: 16, outChannels: 32, kernelSize: 4, stride: 2, padding: 1), ReLU(),
            Conv2D(inChannels: 32, outChannels: 64, kernelSize: 4, stride: 2, padding: 1), ReLU(),
            Conv2D(inChannels: 64, outChannels: 64, kernelSize: 4, stride: 2, padding: 1), ReLU(),
        ])
        head = Linear(inFeatures: 64 * 16, outFeatures: 10)
    }
    var children: [(name: String, module: any Module)] { [("features", features), ("head", head)] }
    func callAsFunction(_ x: Variable) -> Variable { head(reshape(features(x), [x.shape[0], 64 * 16])) }
}

/// mean over the batch of -log softmax(logits)[label]; the row max is a constant shift.
func crossEntropy(_ logits: Variable, _ labels: [Int]) -> Variable {
    let (n, c) = (logits.shape[0], logits.shape[1])
    let v = logits.value.scalars
    let rowMax = (0..<n).map { i in v[(i * c)..<(i * c + c)].max() ?? 0 }
    let shifted = logits - Variable(Tensor(shape: [n, 1], scalars: rowMax))
    let lse = log(sum(exp(shifted), alongAxes: [1], keepingDims: true))
    var onehot = [Float](repeating: 0, count: n * c)
    for i in 0..<n { onehot[i * c + labels[i]] = 1 }
    let picked = sum(multiplyByConstant(shifted, Tensor(shape: [n, c], scalars: onehot)), alongAxes: [1], keepingDims: true)
    return mean(lse - picked)
}

func batch(_ x: Tensor, _ idx: ArraySlice<Int>) -> Tensor {
    let t = Tensor(uninitializedShape: [idx.count, 32, 32, 1])
    for (j, i) in idx.enumerated() { (t.uncheckedMutablePointer + j * 1024).update(from: x.pointer + i * 1024, count: 1024) }
    return t
}

func predict(_ net: Classifier, _ x: Tensor) -> [Int] {
    var out: [Int] = []
    let n = x.shape[0]
    for s in stride(from: 0, to: n, by: 500) {
        let logits = withNoGrad { net(Variable(batch(x, Array(s..<min(s + 500, n))[...]))) }.value.scalars
        for i in 0..<(logits.count / 10) {
            let row = logits[(i * 10)..<(i * 10 + 10)]
            out.append(row.indices.max { row[$0] < row[$1] }! - i * 10)
        }
    }
    return out
}

/// Images `<k>_<name>_<i>.png` of a folder, with k, as [N,32,32,1] in [-1, 1] (channels averaged).
func readGenerated(_ folder: String) throws -> (Tensor, [Int]) {
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") && $0 != "grid.png" }.sorted()
    var labels: [Int] = [], pixels: [Float] = []
    for f in files {
        guard let k = Int(f.prefix { $0.isNumber }), classNames.indices.contains(k) else { continue }
        let img = try readImage(at: "\(folder)/\(f)")
        guard img.width == 32, img.height == 32 else { throw ExperimentError("\(folder)/\(f): \(img.width)x\(img.height), 32x32 expected") }
        let cs = img.hasAlpha ? img.channels - 1 : img.channels
        for y in 0..<32 { for x in 0..<32 {
            let g = (0..<cs).map { img.normalizedSample(x: x, y: y, c: $0) }.reduce(0, +) / Float(cs)
            pixels.append(g * 2 - 1)
        } }
        labels.append(k)
    }
    guard !labels.isEmpty else { throw ExperimentError("\(folder): no <k>_<name>_<i>.png images") }
    return (Tensor(shape: [labels.count, 32, 32, 1], scalars: pixels), labels)
}

func perClassAccuracy(_ predicted: [Int], _ truth: [Int]) -> (perClass: [Double], overall: Double) {
    var hit = [Int](repeating: 0, count: 10), all = [Int](repeating: 0, count: 10)
    for (p, t) in zip(predicted, truth) { all[t] += 1; if p == t { hit[t] += 1 } }
    let per = (0..<10).map { all[$0] == 0 ? Double.nan : Double(hit[$0]) / Double(all[$0]) }
    return (per, Double(hit.reduce(0, +)) / Double(max(truth.count, 1)))
}

/// Mean over classes of the per-pixel standard deviation of that class's images: how much
/// samples drawn for one label differ from each other (a generator that ignores its noise
/// scores 0; the real images' value is the reference).
func withinClassSpread(_ x: Tensor, _ labels: [Int]) -> Double {
    let p = x.pointer
    var spreads: [Double] = []
    for k in 0..<10 {
        let members = labels.indices.filter { labels[$0] == k }
        guard members.count > 1 else { continue }
        var total = 0.0
        for j in 0..<1024 {
            let v = members.map { Double(p[$0 * 1024 + j]) }
            let m = v.reduce(0, +) / Double(v.count)
            total += (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)).squareRoot()
        }
        spreads.append(total / 1024)
    }
    return spreads.reduce(0, +) / Double(max(spreads.count, 1))
}

func classify(idx: String, generated: [(String, String)], epochs: Int, seed: UInt64, output: String?) throws {
    let (xTrain, yTrain) = try readIDX(images: "\(idx)/train-images-idx3-ubyte", labels: "\(idx)/train-labels-idx1-ubyte")
    let (xTest, yTest) = try readIDX(images: "\(idx)/t10k-images-idx3-ubyte", labels: "\(idx)/t10k-labels-idx1-ubyte")
    var rng = SplitMix64(seed: seed)
    let net = Classifier()
    initialize(net, .kaiming, using: &rng)
    let adam = Adam(net.namedParameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999)
    let start = Date()
    for epoch in 0..<epochs {
        var order = Array(0..<yTrain.count)
        order.shuffle(using: &rng)
        var running: Float = 0
        for (step, s) in stride(from: 0, to: order.count, by: 64).enumerated() {
            let idxs = order[s..<min(s + 64, order.count)]
            adam.zeroGrad()
            let loss = crossEntropy(net(Variable(batch(xTrain, idxs))), idxs.map { yTrain[$0] })
            loss.backward()
            adam.step()
            running = step == 0 ? loss.value.scalar : 0.98 * running + 0.02 * loss.value.scalar
            if step % 200 == 0 { emit(String(format: "epoch %d step %d loss %.3f (%.0f s)", epoch, step, running, Date().timeIntervalSince(start))) }
        }
    }
    let test = perClassAccuracy(predict(net, xTest), yTest)
    emit(String(format: "classifier test accuracy %.4f", test.overall))
    func pct(_ x: Double) -> String { x.isNaN ? "-" : String(format: "%.1f", 100 * x) }
    var md = "| class | classifier on the real test set |" + generated.map { " \($0.0) |" }.joined() + "\n"
    md += "|---|---:|" + generated.map { _ in "---:|" }.joined() + "\n"
    var results: [(perClass: [Double], overall: Double)] = []
    var spreads: [Double] = []
    for (name, folder) in generated {
        let (x, y) = try readGenerated(folder)
        let r = perClassAccuracy(predict(net, x), y)
        spreads.append(withinClassSpread(x, y))
        emit("\(name): \(y.count) images, label accuracy \(pct(r.overall))%, within-class spread \(spreads.last!)")
        results.append(r)
    }
    for k in 0..<10 {
        md += "| \(k) \(classNames[k]) | \(pct(test.perClass[k])) |" + results.map { " \(pct($0.perClass[k])) |" }.joined() + "\n"
    }
    md += "| **all** | **\(pct(test.overall))** |" + results.map { " **\(pct($0.overall))** |" }.joined() + "\n"
    let spread = { (x: Double) in String(format: "%.3f", x) }
    md += "| within-class spread | \(spread(withinClassSpread(xTest, yTest))) |" + spreads.map { " \(spread($0)) |" }.joined() + "\n"
    print(md, terminator: "")
    if let output { try AtomicWriter.write(Array(md.utf8), to: output) }
}

// MARK: - main

func run() throws {
    var args = Array(CommandLine.arguments.dropFirst())
    guard let mode = args.first else { throw ExperimentError("usage: img2img-experiments fashion-mnist|classify ...") }
    args.removeFirst()
    var values: [String: [String]] = [:]
    var i = 0
    while i < args.count {
        guard args[i].hasPrefix("--"), i + 1 < args.count else { throw ExperimentError("expected --name value, got \(args[i])") }
        values[String(args[i].dropFirst(2)), default: []].append(args[i + 1])
        i += 2
    }
    func one(_ k: String) throws -> String {
        guard let v = values[k]?.last else { throw ExperimentError("\(mode) needs --\(k)") }
        return v
    }
    func int(_ k: String, _ d: Int) throws -> Int {
        guard let s = values[k]?.last else { return d }
        guard let v = Int(s), v > 0 else { throw ExperimentError("--\(k) must be a positive integer, got \(s)") }
        return v
    }
    switch mode {
    case "fashion-mnist":
        try writeFolders(idx: try one("idx"), output: try one("output"), limit: try int("limit", .max))
    case "classify":
        let gen = try (values["generated"] ?? []).map { s -> (String, String) in
            guard let eq = s.firstIndex(of: "=") else { throw ExperimentError("--generated NAME=FOLDER, got \(s)") }
            return (String(s[..<eq]), String(s[s.index(after: eq)...]))
        }
        try classify(idx: try one("idx"), generated: gen, epochs: try int("epochs", 2), seed: UInt64(try int("seed", 1)),
                     output: values["output"]?.last)
    default:
        throw ExperimentError("unknown mode \(mode) (fashion-mnist, classify)")
    }
}

do { try run() } catch {
    emit("img2img-experiments: \(error)")
    exit(1)
}
