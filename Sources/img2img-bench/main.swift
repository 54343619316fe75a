// img2img-bench: the conv engine's speed, per layer type and on the paper code's networks.
//
//   swift run -c release img2img-bench [--threads N] [--repeats K] [--warmup W] [--only NAME[,NAME...]]
//                                      [--json out.json] [--in-process] [--list] [--pool-cache-mb MB]
//                                      [--precision fp32|bf16]
//
// Prints '#' comment lines, then one line per case:  name  seconds  gflops  peak_rss_mb
// with the case names of tools/bench_torch.py, so the two outputs join on the name
// (tools/bench.sh does it). Each case: build, W untimed calls, K timed calls, seconds = median.
// gflops = 2 * nominal conv multiply-adds of one call (forward, backward-input and
// backward-filter, as counted by Autograd.ConvCounters; Winograd still counts the direct
// conv's work) / seconds; norms, activations, padding, losses and Adam are not counted,
// like torch.utils.flop_counter.
// Every case runs in a child process (this executable re-run with --child NAME), so
// peak_rss_mb is that case's own peak (VmHWM), baseline included; --in-process runs them
// all here and then the column is the cumulative peak of this process. --pool-cache-mb caps the
// idle memory the tensor BufferPool keeps for reuse (0: every freed buffer goes back to malloc).
// --precision bf16 runs every inference conv in bf16 (Engine.setConvPrecision); the *_bf16 cases
// do so whatever the flag. Both are refused on a CPU without AVX512_BF16.
import Foundation
import ArgumentParser
import _Files
import Autograd
import Models
import NN
import TensorCore
import Training
import Trainers

// MARK: - Options

struct Options: ParsableArguments {
    static let configuration = CommandConfiguration(commandName: "img2img-bench")

    @Option(help: "Compute threads.")
    var threads = 2
    @Option(help: "Timed calls per case (the median is reported).")
    var repeats = 5
    @Option(help: "Untimed calls before them.")
    var warmup = 1
    @Option(name: .customLong("only"), help: "Only these cases (NAME[,NAME...]; repeatable).")
    var onlyLists: [String] = []
    @Option(help: "Also write the results as JSON to this file.")
    var json: String?
    @Option(help: ArgumentHelp("Run one case (the parent runs each case in a child).", visibility: .hidden))
    var child: String?
    @Flag(help: "Run every case in this process (peak RSS is then cumulative).")
    var inProcess = false
    @Flag(help: "List the case names.")
    var list = false
    /// BufferPool.shared.maxCachedBytes in MiB (nil: the pool's default).
    @Option(name: .customLong("pool-cache-mb"), help: "Cap of the idle memory the tensor buffer pool keeps (MiB; 0: none).")
    var poolCacheMiB: Int?
    /// Forces the kernels' instruction set (avx512, avx2, portable), to measure each path on any machine.
    @Option(help: "Force the kernels' instruction set: avx512 | avx2 | portable.")
    var isa: String?
    /// Precision of inference convs (Engine.setConvPrecision).
    @Option(help: "Precision of inference convs: fp32 | bf16.")
    var precision = ConvPrecision.fp32

    var only: [String]? { onlyLists.isEmpty ? nil : onlyLists.flatMap { $0.split(separator: ",").map(String.init) } }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard repeats >= 1, warmup >= 0 else { throw ValidationError("--repeats must be at least 1 and --warmup at least 0") }
    }
}

extension ConvPrecision: ExpressibleByArgument {}

// MARK: - Measuring

/// Unbuffered output, so a pipe sees each line as soon as its case ends.
func emit(_ s: String) { FileHandle.standardOutput.write((s + "\n").data(using: .utf8)!) }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// VmHWM of this process in MiB (peak resident set).
func peakRSSMiB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

struct Result {
    var name: String
    var seconds: Double
    var flops: Double
    var peakRSS: Double
    var all: [Double]
    /// Per timed call: fresh BufferPool buffers (0 in steady state), and malloc calls and bytes of the
    /// whole process when run under tools/malloc_count.so (tools/alloc_count.sh), else nil.
    var poolFresh: Double = 0
    var mallocCalls: Double? = nil
    var mallocBytes: Double? = nil
    var gflops: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
}

/// Builds the case (outside the timing), then warm-up and timed calls.
func measure(_ name: String, _ o: Options, _ make: () -> () -> Void) -> Result {
    let fn = make()
    var flops = 0.0
    for i in 0..<max(1, o.warmup) {   // at least one call: it also counts the FLOPs
        let before = ConvCounters.multiplyAdds
        fn()
        if i == 0 { flops = 2 * Double(ConvCounters.multiplyAdds - before) }
    }
    var times: [Double] = []
    let pool0 = BufferPool.shared.statistics.allocations, malloc0 = MallocCounter.read()
    for _ in 0..<o.repeats {
        let t0 = now()
        fn()
        times.append(now() - t0)
    }
    let pool1 = BufferPool.shared.statistics.allocations, malloc1 = MallocCounter.read()
    let sorted = times.sorted()
    let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                       : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    var r = Result(name: name, seconds: median, flops: flops, peakRSS: peakRSSMiB(), all: times)
    let k = Double(o.repeats)
    r.poolFresh = Double(pool1 - pool0) / k
    if let a = malloc0, let b = malloc1 {
        r.mallocCalls = Double(b.calls - a.calls) / k
        r.mallocBytes = Double(b.bytes - a.bytes) / k
    }
    return r
}

/// The counters of tools/malloc_count.c when it is preloaded (LD_PRELOAD), found by name at run time.
enum MallocCounter {
    typealias Counter = @convention(c) () -> Int
    static let functions: (Counter, Counter)? = {
        let handle = dlopen(nil, RTLD_NOW)
        guard let c = dlsym(handle, "i2i_malloc_calls"), let b = dlsym(handle, "i2i_malloc_bytes") else { return nil }
        return (unsafeBitCast(c, to: Counter.self), unsafeBitCast(b, to: Counter.self))
    }()
    static func read() -> (calls: Int, bytes: Int)? { functions.map { ($0.0(), $0.1()) } }
}

// MARK: - Cases

nonisolated(unsafe) var rng = SplitMix64(seed: 0)

func image(_ c: Int = 3, _ s: Int = 256) -> Tensor {
    Tensor(randomUniform: [1, s, s, c], low: -1, high: 1, using: &rng)
}

func net(_ config: ModelConfig) -> any Layer {
    do { return try makeLayer(config, using: &rng) } catch { fatalError("\(error)") }
}

/// One conv layer of the paper networks. Transposed: PyTorch ConvTranspose2d(cin, cout, k, s, p, op).
struct LayerCase {
    var cin, cout, k, s, p, size: Int
    var transposed = false
    var outputPadding = 1

    enum Pass { case fwd, bwdin, bwdw, fwdbwd }

    func make(_ pass: Pass) -> () -> Void {
        var r = SplitMix64(seed: 1)
        if !transposed {
            let x = Tensor(randomNormal: [1, size, size, cin], using: &r)
            let w = Tensor(randomNormal: [k, k, cin, cout], std: 0.05, using: &r)
            // A layer's plan, made before the timing: the weights are packed once, as in inference.
            let plans = ConvPlans()
            let geo = ConvGeometry(input: x.shape, filter: w.shape, strides: (s, s), padding: .symmetric(p)).planned(by: plans)
            let dy = Tensor(randomNormal: geo.outputShape, using: &r)
            switch pass {
            case .fwd: return { _ = convForward(x, w, nil, geo) }
            case .bwdin: return { _ = convBackwardInput(dy, w, geo) }
            case .bwdw: return { _ = convBackwardFilter(x, dy, geo) }
            case .fwdbwd:
                let xv = Variable(x, requiresGrad: true), wv = Variable(w, requiresGrad: true)
                return {
                    xv.zeroGrad(); wv.zeroGrad()
                    sum(conv2d(xv, wv, strides: (s, s), padding: .symmetric(p), plans: plans)).backward()
                }
            }
        }
        // transposed: its forward is the conv's backward-input (u plays dy), its backward-input
        // the conv's forward on dv, its backward-filter the conv's backward-filter(dv, u).
        let u = Tensor(randomNormal: [1, size, size, cin], using: &r)
        let w = Tensor(randomNormal: [k, k, cout, cin], std: 0.05, using: &r)
        let plans = ConvPlans()
        let geo = ConvGeometry(transposedInput: u.shape, filter: w.shape, strides: (s, s), padding: (p, p),
                               outputPadding: (outputPadding, outputPadding)).planned(by: plans)
        let dv = Tensor(randomNormal: geo.inputShape, using: &r)
        switch pass {
        case .fwd: return { _ = convBackwardInput(u, w, geo) }
        case .bwdin: return { _ = convForward(dv, w, nil, geo) }
        case .bwdw: return { _ = convBackwardFilter(dv, u, geo) }
        case .fwdbwd:
            let uv = Variable(u, requiresGrad: true), wv = Variable(w, requiresGrad: true)
            return {
                uv.zeroGrad(); wv.zeroGrad()
                sum(convTranspose2d(uv, wv, strides: (s, s), padding: (p, p),
                                    outputPadding: (outputPadding, outputPadding), plans: plans)).backward()
            }
        }
    }
}

/// name -> (layer, passes). Input images are pre-padded where the networks reflect-pad.
let layerCases: [(String, LayerCase, [LayerCase.Pass])] = [
    ("conv3x3_256_64x64", LayerCase(cin: 256, cout: 256, k: 3, s: 1, p: 0, size: 66), [.fwd, .bwdin, .bwdw, .fwdbwd]),
    ("conv7x7_3to64_256", LayerCase(cin: 3, cout: 64, k: 7, s: 1, p: 0, size: 262), [.fwd, .bwdw]),
    ("conv7x7_64to3_256", LayerCase(cin: 64, cout: 3, k: 7, s: 1, p: 0, size: 262), [.fwd, .bwdin, .bwdw]),
    ("conv3x3s2_64to128_256", LayerCase(cin: 64, cout: 128, k: 3, s: 2, p: 1, size: 256), [.fwd, .bwdin, .bwdw]),
    ("conv4x4s2_6to64_256", LayerCase(cin: 6, cout: 64, k: 4, s: 2, p: 1, size: 256), [.fwd, .bwdw]),
    ("conv4x4s2_64to128_128", LayerCase(cin: 64, cout: 128, k: 4, s: 2, p: 1, size: 128), [.fwd, .bwdin, .bwdw]),
    ("conv4x4s2_128to256_64", LayerCase(cin: 128, cout: 256, k: 4, s: 2, p: 1, size: 64), [.fwd, .bwdin, .bwdw]),
    ("conv4x4s1_256to512_32", LayerCase(cin: 256, cout: 512, k: 4, s: 1, p: 1, size: 32), [.fwd, .bwdin, .bwdw]),
    ("convT3x3s2_256to128_64", LayerCase(cin: 256, cout: 128, k: 3, s: 2, p: 1, size: 64, transposed: true),
     [.fwd, .bwdin, .bwdw]),
    ("convT4x4s2_512to128_32", LayerCase(cin: 512, cout: 128, k: 4, s: 2, p: 1, size: 32, transposed: true,
                                         outputPadding: 0), [.fwd, .bwdin, .bwdw]),
]

func networkCases() -> [(String, () -> () -> Void)] {
    [
        ("resnet9_fwd", {
            let g = net(.generator("resnet_9blocks", norm: .instance))
            g.testMode()
            let x = Variable(image())
            return { _ = withNoGrad { g(x) } }
        }),
        ("resnet9_fwd_bf16", {
            // translate --precision bf16: convs in bf16 (weights packed once, at the warm-up call)
            bf16()
            let g = net(.generator("resnet_9blocks", norm: .instance))
            g.testMode()
            let x = Variable(image())
            return { _ = withNoGrad { g(x) } }
        }),
        ("unet256_fwd", {
            // test.py without --eval: batch statistics; dropout off (torch's line keeps it on: a
            // few element-wise multiplies at 1x1..8x8, immaterial to the time)
            let g = net(.generator("unet_256", norm: .batch, useDropout: true))
            g.testMode()
            let x = Variable(image())
            return { _ = withNoGrad { g(x) } }
        }),
        ("patchgan_fwd", {
            let d = net(.discriminator("basic", inputNC: 6, norm: .batch))
            d.train()
            let x = Variable(image(6))
            return { _ = withNoGrad { d(x) } }
        }),
        ("fid_inception_b8", {
            // FID features: pytorch-fid's InceptionV3 to pool3, a batch of 8 at 299x299 (the time does not
            // depend on the weights: uniform noise, batch norm statistics in [0.5, 1.5))
            let m = FIDInceptionV3()
            for (name, t) in m.namedTensors() {
                let shape = t.pyTorchShape, conv = name.hasSuffix("conv.weight")
                let bound = conv ? (6 / Float(shape.dropFirst().reduce(1, *))).squareRoot() : 0.5
                t.setFromPyTorch(Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in
                    Float.random(in: -bound..<bound, using: &rng) + (conv ? 0 : 1)
                }))
            }
            let x = Tensor(shape: [8, 299, 299, 3], scalars: (0..<(8 * 299 * 299 * 3)).map { _ in
                Float.random(in: -1..<1, using: &rng)
            })
            return { _ = m.fidFeatures(x) }
        }),
        ("cyclegan_iter", {
            var opts = TrainOptions()
            opts.poolSize = 0                       // the pool only copies images: immaterial
            let t = CycleGANTrainer(G_A: net(.generator("resnet_9blocks", norm: .instance)),
                                    G_B: net(.generator("resnet_9blocks", norm: .instance)),
                                    D_A: net(.discriminator("basic", inputNC: 3, norm: .instance)),
                                    D_B: net(.discriminator("basic", inputNC: 3, norm: .instance)),
                                    options: opts)
            let batch = TrainingBatch.pair(image(), image())
            return { t.optimizeParameters(batch) }
        }),
        // CUT and FastCUT at their defaults (anti-aliased resnet_9blocks and PatchGAN, PatchNCE on
        // layers 0,4,8,12,16 with 256 patches, netF 256 wide). netF is created by the first call
        // (a warm-up call, untimed). No torch twin yet.
        ("cut_iter", { cutIteration(fast: false) }),
        ("fastcut_iter", { cutIteration(fast: true) }),
        ("pix2pix_iter", {
            let t = Pix2PixTrainer(G: net(.generator("unet_256", norm: .batch, useDropout: true)),
                                   D: net(.discriminator("basic", inputNC: 6, norm: .batch)))
            let batch = TrainingBatch.pair(image(), image())
            return { t.optimizeParameters(batch) }
        }),
    ]
}

func cutIteration(fast: Bool) -> () -> Void {
    var g = ModelConfig.generator("resnet_9blocks", norm: .instance)
    g.antialias = true; g.antialiasUp = true
    var d = ModelConfig.discriminator("basic", inputNC: 3, norm: .instance)
    d.antialias = true
    guard let G = net(g) as? ResnetGenerator else { fatalError("resnet_9blocks is a ResnetGenerator") }
    var o = TrainableModel.cut.defaults
    o.model = (fast ? TrainableModel.fastcut : TrainableModel.cut).name
    o.nceIdt = !fast; o.lambdaNCE = fast ? 10 : 1; o.flipEquivariance = fast
    let t = CUTTrainer(netG: G, netD: net(d), options: o)
    let batch = TrainingBatch.pair(image(), image())
    return { t.optimizeParameters(batch) }
}

/// The other ops of the networks at their sizes there, each forward (inference) or forward and
/// backward from a random seed gradient: norms, padding, activations, the residual add, the U-Net
/// skip concat. No FLOPs are counted (memory-bound loops); compare seconds with torch's.
func elementwiseCases() -> [(String, () -> () -> Void)] {
    func make(_ shapes: [[Int]], backward: Bool, _ f: @escaping ([Variable]) -> Variable) -> () -> () -> Void {
        {
            var r = SplitMix64(seed: 2)
            let xs = shapes.map { Variable(Tensor(randomNormal: $0, using: &r), requiresGrad: backward) }
            if !backward { return { _ = withNoGrad { f(xs) } } }
            let gy = Tensor(randomNormal: f(xs).shape, using: &r)
            return {
                xs.forEach { $0.zeroGrad() }
                f(xs).backward(seed: gy)
            }
        }
    }
    let big = [1, 256, 256, 64], res = [1, 64, 64, 256]
    let gamma = Variable(Tensor(ones: [64]), requiresGrad: true), beta = Variable(Tensor(zeros: [64]), requiresGrad: true)
    var stats = BatchNormStatistics(channels: 64)
    return [
        ("instnorm_64_256_fwd", make([big], backward: false) { instanceNorm($0[0]) }),
        ("instnorm_64_256_fwdbwd", make([big], backward: true) { instanceNorm($0[0]) }),
        ("batchnorm_64_256_fwdbwd", make([big], backward: true) {
            batchNorm($0[0], gamma: gamma, beta: beta, statistics: &stats, training: true) }),
        ("reflpad1_256_64_fwdbwd", make([res], backward: true) { pad($0[0], .symmetric(1), mode: .reflect) }),
        ("relu_64_256_fwdbwd", make([big], backward: true) { relu($0[0]) }),
        ("leakyrelu_64_256_fwdbwd", make([big], backward: true) { leakyReLU($0[0], slope: 0.2) }),
        ("tanh_3_256_fwdbwd", make([[1, 256, 256, 3]], backward: true) { tanh($0[0]) }),
        ("add_256_64_fwdbwd", make([res, res], backward: true) { $0[0] + $0[1] }),
        ("concat_64_128_fwdbwd", make([[1, 128, 128, 64], [1, 128, 128, 64]], backward: true) { concat($0, axis: -1) }),
    ]
}

func allCases() -> [(String, () -> () -> Void)] {
    var cases = networkCases() + elementwiseCases()
    for (base, layer, passes) in layerCases {
        for pass in passes { cases.append(("\(base)_\(pass)", { layer.make(pass) })) }
    }
    // The direct kernels of the 3x3 stride-1 conv (Winograd off): real FLOP/s, comparable with the peak.
    let (_, c3, _) = layerCases[0]
    cases.append(("conv3x3_256_64x64_fwd_bf16", {
        bf16()
        let x = Tensor(randomNormal: [1, c3.size, c3.size, c3.cin], using: &rng)
        let w = Tensor(randomNormal: [3, 3, c3.cin, c3.cout], std: 0.05, using: &rng)
        // A layer's plan, as conv3x3_256_64x64_fwd: the weights are packed to bf16 once.
        let geo = ConvGeometry(input: x.shape, filter: w.shape, strides: (1, 1), padding: .none).planned(by: ConvPlans())
        return { _ = convForward(x, w, nil, geo) }
    }))
    for pass in [LayerCase.Pass.fwd, .bwdin, .bwdw] {
        cases.append(("conv3x3_256_64x64_\(pass)_direct", {
            Engine.setWinograd(0) // before the plan is made: a plan keeps the mode it was made with
            return c3.make(pass)
        }))
    }
    return cases
}

// MARK: - Running

/// The issue's assumption: 2 cores x 3.6 GHz x 32 FLOP/cycle.
let machinePeakGFLOPs = 2.0 * 3.6 * 32
/// This CPU (AMD family 26, Zen 5) has two full 512-bit FMA pipes: 64 FLOP/cycle per core. An
/// AVX-512 FMA loop with 12 independent accumulators measured 266 GFLOP/s of thread CPU time on
/// one core (about 4.15 GHz), so 2 cores x 3.6 GHz x 64 FLOP/cycle is the more honest ceiling.
let fullWidthPeakGFLOPs = 2.0 * 3.6 * 64

/// Sets bf16 convs, or exits with the usage status on a CPU without AVX512_BF16.
func bf16() {
    do { try Engine.setConvPrecision(.bf16) } catch {
        FileHandle.standardError.write("img2img-bench: \(error)\n".data(using: .utf8)!)
        exit(2)
    }
}

func runCase(_ name: String, _ o: Options) -> Result? {
    if name == "baseline" { return Result(name: name, seconds: 0, flops: 0, peakRSS: peakRSSMiB(), all: []) }
    guard let c = allCases().first(where: { $0.0 == name }) else { return nil }
    return measure(name, o, c.1)
}

/// Re-runs this executable for one case; its output line is `RESULT <json>`.
func runChild(_ name: String, _ o: Options) -> Result? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    p.arguments = ["--child", name, "--threads", "\(o.threads)", "--repeats", "\(o.repeats)", "--warmup", "\(o.warmup)"]
        + (o.isa.map { ["--isa", $0] } ?? [])
        + ["--precision", o.precision.rawValue]
        + (o.poolCacheMiB.map { ["--pool-cache-mb", "\($0)"] } ?? [])
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { emit("# \(name) FAILED to start: \(error)"); return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let out = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0,
          let line = out.split(separator: "\n").last(where: { $0.hasPrefix("RESULT ") }),
          let obj = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any] else {
        emit("# \(name) FAILED (status \(p.terminationStatus))")
        return nil
    }
    var r = Result(name: name, seconds: obj["seconds"] as? Double ?? 0, flops: obj["flops"] as? Double ?? 0,
                   peakRSS: obj["peak_rss_mb"] as? Double ?? 0, all: obj["all_seconds"] as? [Double] ?? [])
    r.poolFresh = obj["pool_fresh_per_call"] as? Double ?? 0
    r.mallocCalls = obj["malloc_calls_per_call"] as? Double
    r.mallocBytes = obj["malloc_bytes_per_call"] as? Double
    return r
}

func jsonObject(_ r: Result) -> [String: Any] {
    var o: [String: Any] = ["name": r.name, "seconds": r.seconds, "flops": r.flops, "gflops": r.gflops,
                            "peak_rss_mb": r.peakRSS, "all_seconds": r.all, "pool_fresh_per_call": r.poolFresh]
    if let c = r.mallocCalls, let b = r.mallocBytes { o["malloc_calls_per_call"] = c; o["malloc_bytes_per_call"] = b }
    return o
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

func cpuModel() -> String {
    guard let s = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "?" }
    return s.split(separator: "\n").first(where: { $0.hasPrefix("model name") })
        .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? "?"
}

let options = Options.parseOrExit()
Engine.threads = options.threads
if let isa = options.isa {
    do { try Engine.setKernelISA(isa) } catch {
        FileHandle.standardError.write("img2img-bench: \(error)\n".data(using: .utf8)!)
        exit(2)
    }
}
if options.precision == .bf16 { bf16() }
if !Engine.supportsBF16, options.child == nil,
   let n = options.only?.first(where: { $0.hasSuffix("_bf16") }) {
    FileHandle.standardError.write("img2img-bench: \(n): \(Engine.UnsupportedPrecision(precision: .bf16))\n".data(using: .utf8)!)
    exit(2)
}
if let mb = options.poolCacheMiB { BufferPool.shared.maxCachedBytes = mb << 20 }

if let name = options.child {
    guard let r = runCase(name, options) else { emit("unknown case \(name)"); exit(1) }
    guard let data = try? JSONSerialization.data(withJSONObject: jsonObject(r)) else {
        emit("case \(name): result is not JSON-serializable"); exit(1)
    }
    emit("RESULT " + String(decoding: data, as: UTF8.self))
    exit(0)
}

let names = ["baseline"] + allCases().map(\.0)
if options.list { names.forEach { emit($0) }; exit(0) }
if let only = options.only {
    for n in only where !names.contains(n) { emit("unknown case \(n); --list shows them"); exit(2) }
}
let selected = options.only.map { sel in names.filter { sel.contains($0) } } ?? names

let loadStart = loadAverage()
emit("# img2img-bench  kernels \(Engine.kernelISA)  convs \(Engine.convPrecision.rawValue)  threads \(Engine.threads)  "
      + "repeats \(options.repeats) (median)  warmup \(options.warmup)")
emit("# cpu \(cpuModel()) x\(ProcessInfo.processInfo.activeProcessorCount)  loadavg \(loadStart)")
emit("# peak_rss_mb: " + (options.inProcess ? "CUMULATIVE peak of this one process (--in-process)"
                                              : "per case (child process VmHWM, baseline included)"))
emit("# " + "name".padding(toLength: 28, withPad: " ", startingAt: 0)
      + "    seconds   gflops  peak_rss_mb")
var results: [Result] = []
for name in selected {
    let r = options.inProcess ? runCase(name, options) : runChild(name, options)
    guard let r else { continue }
    results.append(r)
    emit(r.name.padding(toLength: 30, withPad: " ", startingAt: 0)
          + String(format: " %10.4f %8.2f %12.1f", r.seconds, r.gflops, r.peakRSS))
}
for name in ["conv3x3_256_64x64_fwd", "conv3x3_256_64x64_fwd_direct"] {
    guard let r = results.first(where: { $0.name == name }) else { continue }
    emit(String(format: "# %@: %.1f GFLOP/s = %.1f%% of the assumed machine peak %.1f GFLOP/s "
                 + "(2 cores x 3.6 GHz x 32 FLOP/cycle), = %.1f%% of %.1f GFLOP/s (64 FLOP/cycle: Zen 5's two "
                 + "512-bit FMA pipes, ~266 GFLOP/s measured per core), on %d threads%@", name, r.gflops,
                 100 * r.gflops / machinePeakGFLOPs, machinePeakGFLOPs, 100 * r.gflops / fullWidthPeakGFLOPs,
                 fullWidthPeakGFLOPs, options.threads,
                 name.hasSuffix("direct") ? "" : " (nominal FLOPs: Winograd does fewer multiplies)"))
}
for r in results where r.name != "baseline" && (r.poolFresh > 0 || r.mallocCalls != nil) {
    var line = "# steady state per call of \(r.name): \(r.poolFresh) fresh tensor buffers"
    if let c = r.mallocCalls, let b = r.mallocBytes {
        line += String(format: ", %.0f malloc calls, %.1f KiB", c, b / 1024)
    }
    emit(line)
}
let loadEnd = loadAverage()
emit("# loadavg at end \(loadEnd)")
if let path = options.json {
    let env: [String: Any] = ["engine": "img2img", "kernels": Engine.kernelISA, "threads": options.threads,
                              "repeats": options.repeats, "warmup": options.warmup, "cpu": cpuModel(),
                              "loadavg_start": loadStart, "loadavg_end": loadEnd,
                              "machine_peak_gflops": machinePeakGFLOPs, "full_width_peak_gflops": fullWidthPeakGFLOPs, "rss": options.inProcess ? "cumulative" : "per_case"]
    let obj: [String: Any] = ["env": env, "results": results.map(jsonObject)]
    let url = URL(fileURLWithPath: path)
    try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    do {
        try AtomicWriter.write(Array(JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])),
                               to: url.path)
        emit("# wrote \(path)")
    } catch { emit("# could not write \(path): \(error)") }
}
