import ImageIO

/// The paper code's `--preprocess` modes (`data/base_dataset.py`).
public enum Preprocess: String, Sendable, CaseIterable, Codable {
    /// Resize to `loadSize` x `loadSize`, then crop `cropSize` (the default: 286 then 256).
    case resizeAndCrop = "resize_and_crop"
    /// Resize to `loadSize` x `loadSize` only.
    case resize
    /// Crop `cropSize` from the image as it is.
    case crop
    /// Scale so that the width is `loadSize` (height at least `cropSize`).
    case scaleWidth = "scale_width"
    /// Scale the width to `loadSize`, then crop `cropSize`.
    case scaleWidthAndCrop = "scale_width_and_crop"
    /// Keep the size, rounded to the nearest multiple of 4 (the generators need it).
    case none
}

public struct AugmentOptions: Sendable, Equatable, Codable {
    public var preprocess: Preprocess
    public var loadSize: Int
    public var cropSize: Int
    public var flip: Bool
    public var filter: ResizeFilter
    /// `scale_width` without a crop: the scaled height is rounded to a multiple of this, as
    /// `none` rounds both sides to 4. Unpaired training on photos of many aspect ratios needs it
    /// (the generators take multiples of 4); the paper code rounds `none` only. nil: no rounding.
    public var scaledHeightMultiple: Int?

    public init(preprocess: Preprocess = .resizeAndCrop, loadSize: Int = 286, cropSize: Int = 256,
                flip: Bool = true, filter: ResizeFilter = .bicubic, scaledHeightMultiple: Int? = nil) {
        self.preprocess = preprocess
        self.loadSize = loadSize
        self.cropSize = cropSize
        self.flip = flip
        self.filter = filter
        self.scaledHeightMultiple = scaledHeightMultiple
    }

    /// The size an image of `width` x `height` has after this preprocessing (the crop's
    /// position and the flip do not change it).
    public func outputSize(width w: Int, height h: Int) -> (width: Int, height: Int) {
        var (w, h) = (w, h)
        if resizes {
            (w, h) = (loadSize, loadSize)
        } else if scalesWidth && !(w == loadSize && h >= cropSize) {
            (w, h) = (loadSize, max(Int(Double(loadSize) * Double(h) / Double(w)), cropSize))
        }
        if crops && (w > cropSize || h > cropSize) { (w, h) = (min(cropSize, w), min(cropSize, h)) }
        if preprocess == .none { (w, h) = (roundedToMultiple(w, of: 4), roundedToMultiple(h, of: 4)) }
        if preprocess == .scaleWidth, let m = scaledHeightMultiple { h = roundedToMultiple(h, of: m) }
        return (w, h)
    }

    /// Test-time options: the paper code's `test.py` keeps the preprocess mode but never flips.
    public var forTesting: AugmentOptions {
        var o = self
        o.flip = false
        return o
    }

    var resizes: Bool { preprocess == .resizeAndCrop || preprocess == .resize }
    var scalesWidth: Bool { preprocess == .scaleWidth || preprocess == .scaleWidthAndCrop }
    var crops: Bool { preprocess == .resizeAndCrop || preprocess == .crop || preprocess == .scaleWidthAndCrop }
}

/// The random choices of one augmentation, sampled once (`sample`) and applied to
/// every image of a pair (`apply`), so A and B get the same crop and flip.
public struct AugmentParams: Sendable, Equatable, Codable {
    public var cropX: Int
    public var cropY: Int
    public var flip: Bool

    public init(cropX: Int, cropY: Int, flip: Bool) {
        self.cropX = cropX
        self.cropY = cropY
        self.flip = flip
    }

    /// The paper code's `get_params`: crop position within the resized size, and a coin for the flip.
    public static func sample<G: RandomNumberGenerator>(
        options o: AugmentOptions, width w: Int, height h: Int, using rng: inout G
    ) -> AugmentParams {
        var newW = w, newH = h
        switch o.preprocess {
        case .resizeAndCrop:
            newW = o.loadSize; newH = o.loadSize
        case .scaleWidthAndCrop:
            newW = o.loadSize; newH = o.loadSize * h / w
        default:
            break
        }
        let x = Int.random(in: 0...max(0, newW - o.cropSize), using: &rng)
        let y = Int.random(in: 0...max(0, newH - o.cropSize), using: &rng)
        let coin = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return AugmentParams(cropX: x, cropY: y, flip: coin > 0.5)
    }

    /// The paper code's `get_transform` with these parameters: resize or scale, crop,
    /// round to a multiple of 4 (`none`), flip. Pass `.nearest` as `filter` for label maps.
    public func apply(to image: Image, options o: AugmentOptions, filter: ResizeFilter? = nil) -> Image {
        let f = filter ?? o.filter
        var img = image
        if o.resizes {
            img = img.resized(width: o.loadSize, height: o.loadSize, filter: f)
        } else if o.scalesWidth {
            img = img.scaledToWidth(o.loadSize, minimumHeight: o.cropSize, filter: f)
        }
        if o.crops {
            // As the paper code's __crop: an image no larger than the crop is left alone.
            if img.width > o.cropSize || img.height > o.cropSize {
                let cw = min(o.cropSize, img.width - cropX), chh = min(o.cropSize, img.height - cropY)
                img = img.cropped(x: cropX, y: cropY, width: cw, height: chh)
            }
        }
        if o.preprocess == .none {
            img = img.roundedToMultiple(of: 4, filter: f)
        } else if o.preprocess == .scaleWidth, let m = o.scaledHeightMultiple {
            let h = roundedToMultiple(img.height, of: m)
            if h != img.height { img = img.resized(width: img.width, height: h, filter: f) }
        }
        if o.flip && flip {
            img = img.flippedHorizontally()
        }
        return img
    }
}

extension Image {
    /// The paper code's `__scale_width`: width becomes `target`, height keeps the aspect ratio
    /// but is at least `minimumHeight`.
    public func scaledToWidth(_ target: Int, minimumHeight: Int, filter: ResizeFilter = .bicubic) -> Image {
        if width == target && height >= minimumHeight { return self }
        let h = max(Int(Double(target) * Double(height) / Double(width)), minimumHeight)
        return resized(width: target, height: h, filter: filter)
    }

    /// The paper code's `__make_power_2`: each side rounded to the nearest multiple of `base`
    /// (Python's round, halves to even), at least `base`.
    public func roundedToMultiple(of base: Int, filter: ResizeFilter = .bicubic) -> Image {
        let w = Augment.roundedToMultiple(width, of: base), h = Augment.roundedToMultiple(height, of: base)
        if w == width && h == height { return self }
        return resized(width: w, height: h, filter: filter)
    }
}

/// `v` rounded to the nearest multiple of `base` (Python's round, halves to even), at least `base`.
func roundedToMultiple(_ v: Int, of base: Int) -> Int {
    max(base, Int((Double(v) / Double(base)).rounded(.toNearestOrEven)) * base)
}
