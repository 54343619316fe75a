// The size limit of a network built from a config. Configs come from file headers, which are
// untrusted: `{"ngf": 1000000000}` or `resnet_100000000blocks` would otherwise allocate
// terabytes (or overflow Int) before the weights are even compared with the file.
//
//   ModelConfig.maxParameters             2^28 floats (1 GiB of f32)
//   config.parameterBound()               an upper bound of the parameter count, nil on overflow
//
// For scale: resnet_9blocks ngf 64 has 11.4M parameters, unet_256 ngf 64 54.4M, the basic
// PatchGAN ndf 64 2.8M. The bound over-counts (every norm as affine, every conv with a bias,
// U-Net levels at full width) by less than 2x on these.

extension ModelConfig {
    /// The largest network a config may describe, in parameters (floats).
    public static let maxParameters = 1 << 28

    /// An upper bound of the number of parameters of the network this config builds, or nil
    /// when it does not fit in an Int (always above `maxParameters`). Sizes that are not
    /// positive count as 1; `buildNetwork` refuses them separately.
    public func parameterBound() -> Int? {
        var total = 0
        var overflow = false
        func mul(_ xs: Int...) -> Int {
            var p = 1
            for x in xs {
                let (r, o) = p.multipliedReportingOverflow(by: max(x, 1))
                if o { overflow = true; return 0 }
                p = r
            }
            return p
        }
        func add(_ x: Int) {
            let (r, o) = total.addingReportingOverflow(x)
            if o { overflow = true } else { total = r }
        }
        /// A k x k conv (or transposed conv) with bias and a batch norm after it (weight, bias,
        /// running mean and variance, batch count).
        func conv(_ k: Int, _ cin: Int, _ cout: Int) { add(mul(k, k, cin, cout)); add(mul(5, cout)); add(1) }
        func shifted(_ x: Int, _ s: Int) -> Int {
            guard s >= 0, s < 62, x <= (Int.max >> s) else { overflow = true; return 0 }
            return x << s
        }

        switch kind {
        case .generator:
            switch ModelConfig.parseNetG(netG) {
            case .resnet(let n)?:
                conv(7, inputNC, ngf); conv(3, ngf, mul(2, ngf)); conv(3, mul(2, ngf), mul(4, ngf))
                for _ in 0..<min(n, 1 << 20) where total <= ModelConfig.maxParameters { conv(3, mul(4, ngf), mul(4, ngf)); conv(3, mul(4, ngf), mul(4, ngf)) }
                if n >= 1 << 20 { overflow = true }
                conv(3, mul(4, ngf), mul(2, ngf)); conv(3, mul(2, ngf), ngf); conv(7, ngf, outputNC)
            case .unet(let d)?:
                // every level at the widest (8 ngf down, 16 ngf -> 8 ngf up), plus the outer convs
                conv(4, inputNC, ngf); conv(4, mul(2, ngf), outputNC)
                for _ in 0..<min(d, 64) { conv(4, mul(8, ngf), mul(8, ngf)); conv(4, mul(16, ngf), mul(8, ngf)) }
            case nil:
                return 0  // refused by name
            }
        case .discriminator:
            switch netD {
            case "pixel":
                conv(1, inputNC, ndf); conv(1, ndf, mul(2, ndf)); conv(1, mul(2, ndf), 1)
            default:
                let layers = netD == "n_layers" ? nLayersD : 3
                conv(4, inputNC, ndf)
                for _ in 0..<min(max(layers, 0) + 1, 1 << 20) where total <= ModelConfig.maxParameters { conv(4, mul(8, ndf), mul(8, ndf)) }
                if layers >= 1 << 20 { overflow = true }
                conv(4, mul(8, ndf), 1)
            }
        case .dcganGenerator, .cganGenerator, .dcganDiscriminator, .cganDiscriminator:
            // depth k = log2(image_size / 4); the widest layer has ngf * 2^(k-1) (G) or ndf * 2^(k-1) (D)
            let q = max(imageSize / 4, 1)
            let k = max(q.trailingZeroBitCount, 1)
            let isG = kind == .dcganGenerator || kind == .cganGenerator
            let top = shifted(isG ? ngf : ndf, k - 1)
            let cond = kind == .cganGenerator || kind == .cganDiscriminator
            if kind == .cganDiscriminator && netD == "projection" {
                // phi without its head, psi Linear(top, 1), one embedding row of `top` per class
                add(mul(numClasses, top)); add(top); add(1)
                conv(4, inputNC, ndf)
                var ch = ndf
                for _ in 1..<k { conv(4, ch, mul(2, ch)); ch = mul(2, ch) }
                return overflow ? nil : total
            }
            if cond { add(mul(numClasses, embedDim)) }
            let base = isG ? nz : inputNC
            let (widened, o) = base.addingReportingOverflow(cond ? max(embedDim, 1) : 0)
            if o { overflow = true }
            let inCh = o ? 1 : widened
            // the channel count halves layer by layer from the widest (G), or doubles up to it (D)
            conv(4, inCh, isG ? top : ndf)
            var ch = top
            for _ in 1..<k { conv(4, ch, max(ch / 2, 1)); ch /= 2 }
            conv(4, isG ? max(ch, 1) : top, isG ? outputNC : 1)
        }
        return overflow ? nil : total
    }
}
