import StepwiseABI

/// The validator's toy problem: a separable quadratic
///
///     f(θ) = ½ Σᵢ aᵢ (θᵢ − cᵢ)²,   ∇f = a ⊙ (θ − c),   aᵢ ∈ [0.5, 2],  cᵢ, θ⁰ᵢ ∈ [−1, 1]
///
/// over parameters of every rank from 0 to 3, with sizes that leave padding after each
/// buffer (so writes past the end are seen). One parameter never gets a gradient and one
/// only on even steps, to check that optimizers leave gradient-less parameters alone.
struct ToyProblem {
    struct Spec {
        let name: String
        let shape: [Int]
        let tag: stepwise_param_tag
        /// 0: never has a gradient; 1: every step; 2: even steps only.
        let gradEvery: Int
    }

    static let specs: [Spec] = [
        Spec(name: "layer.weight", shape: [3, 5], tag: STEPWISE_PARAM_WEIGHT, gradEvery: 1),
        Spec(name: "layer.bias", shape: [5], tag: STEPWISE_PARAM_BIAS, gradEvery: 1),
        Spec(name: "norm.scale", shape: [], tag: STEPWISE_PARAM_NORM, gradEvery: 1),
        Spec(name: "frozen", shape: [4], tag: STEPWISE_PARAM_OTHER, gradEvery: 0),
        Spec(name: "sometimes", shape: [2, 3, 1], tag: STEPWISE_PARAM_WEIGHT, gradEvery: 2),
    ]

    let a: [[Float]]
    let c: [[Float]]
    let start: [[Float]]

    init(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        var a: [[Float]] = [], c: [[Float]] = [], start: [[Float]] = []
        for spec in Self.specs {
            let n = spec.shape.reduce(1, *)
            a.append((0..<n).map { _ in Float.random(in: 0.5...2, using: &rng) })
            c.append((0..<n).map { _ in Float.random(in: -1...1, using: &rng) })
            start.append((0..<n).map { _ in Float.random(in: -1...1, using: &rng) })
        }
        self.a = a; self.c = c; self.start = start
    }

    func makeParams() -> [Parameter] {
        zip(Self.specs, start).map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag, values: $1) }
    }

    /// Which spec a parameter is (callers may pass one param group's subset).
    static func index(_ p: Parameter) -> Int? { specs.firstIndex { $0.name == p.name } }

    /// The gradients of step `step`: present on the parameters whose schedule says so.
    func setGrads(_ params: [Parameter], step: Int) {
        for p in params {
            guard let k = Self.index(p), Self.specs[k].gradEvery > 0, step % Self.specs[k].gradEvery == 0 else {
                p.hasGrad = false
                continue
            }
            writeGrad(p, k)
        }
    }

    /// A closure's work: the loss, and every gradient the loss reaches.
    func evaluate(_ params: [Parameter]) -> Double {
        for p in params { if let k = Self.index(p), Self.specs[k].gradEvery > 0 { writeGrad(p, k) } }
        return loss(params)
    }

    func writeGrad(_ p: Parameter, _ k: Int) {
        for i in 0..<p.count { p.grad[i] = a[k][i] * (p.data[i] - c[k][i]) }
        p.hasGrad = true
    }

    /// f over the parameters that take part (the frozen one does not).
    func loss(_ params: [Parameter]) -> Double {
        var total = 0.0
        for p in params {
            guard let k = Self.index(p), Self.specs[k].gradEvery > 0 else { continue }
            for i in 0..<p.count {
                let d = Double(p.data[i]) - Double(c[k][i])
                total += 0.5 * Double(a[k][i]) * d * d
            }
        }
        return total
    }
}

/// Padding canaries after host-owned float buffers: a plugin that writes one element past
/// a tensor changes them.
enum Padding {
    static let canary = Float(bitPattern: 0x7FC0_DEAD)

    static func arm(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress else { return }
        for i in buffer.count..<allocated(buffer.count) { base[i] = canary }
    }

    static func intact(_ buffer: UnsafeMutableBufferPointer<Float>) -> Bool {
        guard let base = buffer.baseAddress else { return true }
        return (buffer.count..<allocated(buffer.count)).allSatisfy { base[$0].bitPattern == canary.bitPattern }
    }

    /// Floats alignedFloats allocates for `count`: whole 64-byte lines, at least one.
    static func allocated(_ count: Int) -> Int { max(64, (count * 4 + 63) / 64 * 64) / 4 }
}
