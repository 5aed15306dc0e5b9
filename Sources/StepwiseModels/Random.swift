#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deterministic xoshiro256** generator (Blackman & Vigna, 2018), seeded through
/// SplitMix64 as its authors recommend.
///
/// Its whole state is four `UInt64`s (`state`), so a checkpoint that stores them resumes
/// the exact same stream. Every sampler below consumes a fixed number of words per value
/// and keeps no hidden cache (the Box-Muller normal sampler discards nothing it would need
/// later), so the stream position is a pure function of what was drawn.
public struct Xoshiro256StarStar: RandomNumberGenerator, Equatable, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var splitmix = seed
        func next() -> UInt64 {
            splitmix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitmix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // SplitMix64 never yields four zero words in a row, so the state is valid.
        state = (next(), next(), next(), next())
    }

    /// Restores a state previously read from `stateWords`.
    public init(stateWords words: [UInt64]) throws(ModelError) {
        guard words.count == 4 else {
            throw .invalidState("xoshiro256** state has 4 words, got \(words.count)")
        }
        guard words.contains(where: { $0 != 0 }) else {
            throw .invalidState("xoshiro256** state is all zeros; the generator would only yield zeros")
        }
        state = (words[0], words[1], words[2], words[3])
    }

    /// The state as four words, for checkpoints.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    public static func == (a: Self, b: Self) -> Bool { a.stateWords == b.stateWords }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits, every value a multiple of 2^-24 (one word).
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [0, 1) with 53 random bits (one word).
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// `low + (high - low) * u` with `u` from `nextUnitFloat` (one word per value), the
    /// same affine map torch's `uniform_` applies to its unit draws.
    public mutating func fillUniform(_ out: UnsafeMutablePointer<Float>, count: Int, low: Float, high: Float) {
        let width = high - low
        for i in 0..<count { out[i] = low + width * nextUnitFloat() }
    }

    /// Normal samples by the Box-Muller transform, computed in Float64 and rounded once.
    /// Consumes two words per pair of values; an odd `count` spends a full pair on its last
    /// value, so the stream position depends only on `count`.
    public mutating func fillNormal(_ out: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float = 1) {
        var i = 0
        while i < count {
            let (z0, z1) = nextNormalPair()
            out[i] = mean + std * Float(z0)
            if i + 1 < count { out[i + 1] = mean + std * Float(z1) }
            i += 2
        }
    }

    /// One standard normal value (two words; the pair's second value is discarded).
    public mutating func nextNormal() -> Double { nextNormalPair().0 }

    @inline(__always)
    private mutating func nextNormalPair() -> (Double, Double) {
        // 1 - u lies in (0, 1], so the logarithm is finite.
        let u1 = 1 - nextUnitDouble()
        let u2 = nextUnitDouble()
        let radius = (-2 * log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        return (radius * cos(angle), radius * sin(angle))
    }
}
