/// Turns data points into compact SVG path data.
enum CurveGeometry {
    struct Point { var x: Double; var y: Double }

    /// Pixel polylines for a series. A point that cannot be drawn (NaN, infinite, or not
    /// positive on a log axis) breaks the line, as in matplotlib. Within each polyline, a
    /// run of consecutive points landing in the same pixel column keeps only its first,
    /// lowest, highest and last points: the drawing is unchanged but a 100k-step loss curve
    /// costs a few thousand coordinates.
    static func polylines(x: [Double], y: [Double], xMap: AxisMapping, yMap: AxisMapping) -> [[Point]] {
        var lines: [[Point]] = []
        var current: [Point] = []
        var bucket: [Point] = []
        var bucketColumn = Double.nan

        func flushBucket() {
            guard !bucket.isEmpty else { return }
            if bucket.count <= 4 {
                current += bucket
            } else {
                var lo = 0, hi = 0
                for (i, p) in bucket.enumerated() {
                    if p.y < bucket[lo].y { lo = i }
                    if p.y > bucket[hi].y { hi = i }
                }
                for i in Set([0, lo, hi, bucket.count - 1]).sorted() { current.append(bucket[i]) }
            }
            bucket.removeAll(keepingCapacity: true)
        }
        func endLine() {
            flushBucket()
            if !current.isEmpty { lines.append(current) }
            current = []
            bucketColumn = .nan
        }

        for i in 0..<min(x.count, y.count) {
            guard xMap.accepts(x[i]), yMap.accepts(y[i]) else { endLine(); continue }
            let p = Point(x: xMap.pixel(x[i]), y: yMap.pixel(y[i]))
            let column = p.x.rounded(.down)
            if column != bucketColumn {
                flushBucket()
                bucketColumn = column
            }
            bucket.append(p)
        }
        endLine()
        return lines
    }

    /// `M x y L x y x y ...` per polyline. A polyline that is a single spot (a lone point
    /// between gaps, or a series whose points coincide) becomes a tiny circle that the
    /// stroke fills: renderers disagree on drawing zero-length segments.
    static func pathData(_ lines: [[Point]], dotRadius: Double) -> String {
        var d = ""
        for line in lines {
            guard let first = line.first else { continue }
            if line.allSatisfy({ abs($0.x - first.x) < 0.05 && abs($0.y - first.y) < 0.05 }) {
                let r = px(dotRadius), diameter = px(2 * dotRadius)
                d += "M\(px(first.x - dotRadius)) \(px(first.y))a\(r) \(r) 0 1 0 \(diameter) 0a\(r) \(r) 0 1 0 -\(diameter) 0"
                continue
            }
            d += "M\(px(first.x)) \(px(first.y))L"
            for (i, p) in line.dropFirst().enumerated() {
                if i > 0 { d += " " }
                d += "\(px(p.x)) \(px(p.y))"
            }
        }
        return d
    }

    /// Exponential moving average with bias correction (TensorBoard's smoothing slider):
    /// `weight` 0 leaves values unchanged, 0.99 is very smooth. Non-finite values stay
    /// where they are and do not disturb the average.
    static func smoothed(_ values: [Double], weight: Double) -> [Double] {
        let w = min(max(weight, 0), 0.999)
        guard w > 0 else { return values }
        var average = 0.0, correction = 1.0
        return values.map { v in
            guard v.isFinite else { return v }
            average = average * w + (1 - w) * v
            correction *= w
            return average / (1 - correction)
        }
    }
}
