extension Image {
    /// 8-bit RGB tiles in a grid, row-major, each cell the size of the largest tile; the
    /// space a smaller tile leaves is white.
    public static func grid(_ tiles: [Image], columns: Int) -> Image {
        let columns = max(1, columns)
        let w = tiles.map(\.width).max() ?? 1, h = tiles.map(\.height).max() ?? 1
        let rows = max(1, (tiles.count + columns - 1) / columns)
        var px = [UInt8](repeating: 255, count: rows * h * columns * w * 3)
        for (i, t) in tiles.enumerated() {
            let rgb = t.toRGB8()
            let r = i / columns, col = i % columns
            let p = rgb.pixels8
            for y in 0..<rgb.height {
                let dst = ((r * h + y) * columns * w + col * w) * 3
                px.replaceSubrange(dst..<(dst + rgb.width * 3), with: p[(y * rgb.width * 3)..<((y + 1) * rgb.width * 3)])
            }
        }
        return Image(width: columns * w, height: rows * h, channels: 3, pixels8: px)
    }
}
