// ImagePool: a history of generated images (Shrivastava et al. 2017), as the paper code's
// util/image_pool.py. D is trained on a mix of the newest fakes and older ones, which
// keeps it from overfitting to the generator's latest output and damps oscillation.
//
//   images: [N,H,W,C] -> [N,H,W,C]
//   For each image of the batch:
//     the pool is not full        -> store it, return it
//     with probability 0.5        -> return a random stored image and store the new one in its place
//     otherwise                   -> return it
//   poolSize 0 disables the pool (the batch is returned unchanged).
// The random draws come from the pool's own seeded generator, whose state is part of the
// training checkpoint, and so are the stored images: a resumed run draws the same history.
import TensorCore

public final class ImagePool {
    public let poolSize: Int
    /// Stored images, each [1,H,W,C] (values, never on the tape).
    public private(set) var images: [Tensor] = []
    /// The generator of the draws (state saved in checkpoints).
    public var rng: SplitMix64

    public init(poolSize: Int = 50, seed: UInt64) {
        precondition(poolSize >= 0, "pool size must be >= 0")
        self.poolSize = poolSize
        self.rng = SplitMix64(seed: seed)
    }

    /// Returns the images D should see for this batch of fresh fakes. A batch of one returns the
    /// chosen image at its own size (unpaired images of mixed sizes train with batch 1, and D
    /// takes any size, as the paper code's pool); in a larger batch every image has the batch's
    /// size, and a stored image of another size is not swapped in (the draws are the same).
    public func query(_ batch: Tensor) -> Tensor {
        if poolSize == 0 { return batch }
        let n = batch.shape[0]
        let per = batch.count / max(n, 1)
        let itemShape = [1] + batch.shape.dropFirst()
        var chosenImages: [Tensor] = []
        for i in 0..<n {
            let image = Tensor(uninitializedShape: itemShape)
            image.uncheckedMutablePointer.update(from: batch.pointer + i * per, count: per)
            var chosen = image
            if images.count < poolSize {
                images.append(image)
            } else if Double.random(in: 0..<1, using: &rng) > 0.5 {
                let k = Int.random(in: 0..<poolSize, using: &rng)
                if n == 1 || images[k].shape == itemShape {
                    chosen = images[k]
                    images[k] = image
                }
            }
            chosenImages.append(chosen)
        }
        if n == 1 { return chosenImages[0] }
        let out = Tensor(uninitializedShape: batch.shape)
        for (i, c) in chosenImages.enumerated() { (out.uncheckedMutablePointer + i * per).update(from: c.pointer, count: per) }
        return out
    }

    /// Whether every stored image has one shape (then `stacked` holds them all).
    public var hasOneShape: Bool { Set(images.map(\.shape)).count <= 1 }

    /// The stored images as one tensor [count,H,W,C] (nil when empty or of several sizes), for
    /// checkpoints.
    public var stacked: Tensor? {
        guard let first = images.first, hasOneShape else { return nil }
        let per = first.count
        let t = Tensor(uninitializedShape: [images.count] + first.shape.dropFirst())
        for (i, im) in images.enumerated() { (t.uncheckedMutablePointer + i * per).update(from: im.pointer, count: per) }
        return t
    }

    /// Restores the stored images from `stacked` (nil = empty) and the generator state.
    public func restore(stacked: Tensor?, rngState: UInt64) {
        var list: [Tensor] = []
        if let s = stacked, s.shape[0] > 0 {
            let per = s.count / s.shape[0]
            for i in 0..<s.shape[0] {
                let im = Tensor(uninitializedShape: [1] + s.shape.dropFirst())
                im.uncheckedMutablePointer.update(from: s.pointer + i * per, count: per)
                list.append(im)
            }
        }
        restore(images: list, rngState: rngState)
    }

    /// Restores stored images of any shapes, each [1,H,W,C], and the generator state.
    public func restore(images list: [Tensor], rngState: UInt64) {
        precondition(list.count <= poolSize, "pool checkpoint holds \(list.count) images, pool size is \(poolSize)")
        rng.state = rngState
        images = list
    }
}
