import Foundation
import StepwiseModels

/// The classic 2-D GAN target: equal-weight Gaussians with centres evenly spaced on a
/// circle (8 modes, radius 2, std 0.02 by default).
public struct Ring: Sendable {
    public var modes = 8
    public var radius: Float = 2
    public var std: Float = 0.02

    public init(modes: Int = 8, radius: Float = 2, std: Float = 0.02) {
        self.modes = modes; self.radius = radius; self.std = std
    }

    public var centres: [(x: Float, y: Float)] {
        (0..<modes).map { k in
            let angle = 2 * Double.pi * Double(k) / Double(modes)
            return (radius * Float(cos(angle)), radius * Float(sin(angle)))
        }
    }

    /// Fills `out` with `count` points, row-major [count, 2].
    public func sample(into out: UnsafeMutablePointer<Float>, count: Int, rng: inout Xoshiro256StarStar) {
        let c = centres
        rng.fillNormal(out, count: 2 * count, std: std)
        for i in 0..<count {
            let mode = c[Int(rng.next() % UInt64(modes))]
            out[2 * i] += mode.x
            out[2 * i + 1] += mode.y
        }
    }
}

/// How well generated points match the ring: the fraction within 3 std of their nearest
/// mode, and how many modes are covered (at least 1% of all samples within 3 std of it
/// and nearest to it).
public struct Quality: Sendable, Codable, Equatable {
    public var step: Int
    public var fractionNear: Double
    public var modesCovered: Int
    public var modes: Int

    public init(step: Int, points: UnsafePointer<Float>, count: Int, ring: Ring) {
        let centres = ring.centres
        let limit = 3 * ring.std
        var near = 0
        var perMode = [Int](repeating: 0, count: centres.count)
        for i in 0..<count {
            let x = points[2 * i], y = points[2 * i + 1]
            var best = 0
            var bestDistance = Float.infinity
            for (k, c) in centres.enumerated() {
                let d = ((x - c.x) * (x - c.x) + (y - c.y) * (y - c.y)).squareRoot()
                if d < bestDistance { bestDistance = d; best = k }
            }
            if bestDistance <= limit {
                near += 1
                perMode[best] += 1
            }
        }
        self.step = step
        fractionNear = Double(near) / Double(max(count, 1))
        modesCovered = perMode.filter { Double($0) >= 0.01 * Double(count) }.count
        modes = centres.count
    }
}
