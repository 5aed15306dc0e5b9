import StepwiseABI
import StepwiseKit

let perGroup = UInt32(STEPWISE_HP_PER_GROUP)

/// torch keys that only pick a kernel implementation there; accepted, no effect here.
let torchKernelSelectors: [Hyperparam] = [
    .noEffect("foreach"), .noEffect("fused"),
    .noEffect("capturable", default: .bool(false)), .noEffect("differentiable", default: .bool(false)),
]

// The hyperparameters most optimizers share, with torch's names, ranges and messages.
enum Common {
    static func lr(_ value: Double) -> Hyperparam {
        .float("lr", value, role: STEPWISE_ROLE_LR, min: 0, flags: perGroup, label: "learning rate",
               doc: "learning rate γ")
    }
    static func betas(_ b1: Double, _ b2: Double, doc: String = "coefficients (β₁, β₂) of the running averages")
        -> Hyperparam {
        .floats("betas", [b1, b2], role: STEPWISE_ROLE_MOMENTUM, min: 0, max: 1, maxExclusive: true, length: 2,
                flags: perGroup, label: "beta parameter", doc: doc)
    }
    static func eps(_ value: Double) -> Hyperparam {
        .float("eps", value, min: 0, flags: perGroup, label: "epsilon value",
               doc: "term added to the denominator for numerical stability ε")
    }
    static func weightDecay(_ value: Double = 0, doc: String = "L2 penalty λ added to the gradient")
        -> Hyperparam {
        .float("weight_decay", value, role: STEPWISE_ROLE_WEIGHT_DECAY, min: 0, flags: perGroup,
               label: "weight_decay value", doc: doc)
    }
    static let maximize = Hyperparam.bool("maximize", false, flags: perGroup,
                                          doc: "maximize the objective instead of minimizing it")
    static let decoupledWeightDecay = Hyperparam.bool(
        "decoupled_weight_decay", false, flags: perGroup,
        doc: "decay the weights directly, θ ← θ(1 − γλ), as AdamW does, instead of adding λθ to the gradient")
    static let step = Slot.scalar("step", doc: "number of steps this parameter has taken")
}

extension Values {
    /// Element `k` of a float vector (or a plain number), without allocating an array.
    func element(_ i: Int, _ k: Int) -> Double {
        let v = self[i]
        switch v.type {
        case STEPWISE_TYPE_FLOAT_VECTOR: return k < Int(v.count) ? v.fv[k] : .nan
        case STEPWISE_TYPE_INT: return Double(v.i)
        default: return v.f
        }
    }
}

extension Param {
    /// Advances the scalar slot `slot` by one and returns the new value (torch's
    /// `state["step"] += 1`, a float32 count that stays exact below 2²⁴).
    func advance(_ slot: Int) -> Double {
        let s = scalar(slot)
        s.pointee += 1
        return s.pointee
    }
}

/// Caches a per-step resolution (bias corrections cost a few `pow` calls) for every
/// parameter that shares its key, usually all of a group's parameters.
struct Memo<Key: Equatable, Value> {
    private var key: Key?
    private var value: Value?

    mutating func get(_ k: Key, _ make: () -> Value) -> Value {
        if let key, key == k, let value { return value }
        let v = make()
        key = k
        value = v
        return v
    }
}

/// Reusable scratch of one optimizer instance: how a group's elements map onto the pool's
/// chunks, per-parameter coefficients and per-piece partial sums. It only grows, so after
/// the first steps a step allocates nothing. The ABI makes `step` instance-serial.
final class StepScratch<Args> {
    /// Where a parameter's elements sit in the group's element space (parameters without
    /// a gradient take no room) and its index among the parameters with one (-1 without).
    struct Entry {
        var offset = 0, size = 0, dense = -1
    }
    private(set) var entries: [Entry] = []
    private(set) var total = 0
    private(set) var stepped = 0
    private(set) var chunks = 1
    private(set) var per = 0
    var args: [Args] = []
    var partials: [Double] = []

    /// Elements per chunk below which a group runs on the calling thread alone.
    static var grain: Int { 1 << 16 }

    func plan(_ group: Group, threads: Int) {
        let count = group.count
        if entries.count != count { entries = Array(repeating: Entry(), count: count) }
        var total = 0, stepped = 0
        entries.withUnsafeMutableBufferPointer { e in
            for i in 0..<count {
                let p = group[i]
                if p.hasGrad {
                    e[i] = Entry(offset: total, size: p.count, dense: stepped)
                    total += p.count
                    stepped += 1
                } else {
                    e[i] = Entry(offset: total, size: 0, dense: -1)
                }
            }
        }
        self.total = total
        self.stepped = stepped
        chunks = max(1, min(threads, total / Self.grain))
        // Chunk edges on 16-element (64-byte) boundaries keep vector loads aligned.
        per = max(16, ((total + chunks - 1) / chunks + 15) / 16 * 16)
        chunks = max(1, (total + per - 1) / per)
    }

    /// Where chunk edge `x` (an element offset of the group) falls inside a parameter,
    /// rounded up to a multiple of 16 so pieces start aligned; both chunks that share an
    /// edge compute it the same way, so pieces tile every tensor exactly.
    @inline(__always)
    private static func edge(_ x: Int, _ e: Entry) -> Int {
        let local = x - e.offset
        if local <= 0 { return 0 }
        return min(e.size, (local + 15) & ~15)
    }

    /// Runs `body(t, dense, lo, hi, slot)` for every piece [lo, hi) of every parameter `t`
    /// with a gradient (`dense`: its index among those), in parallel over chunks. `slot` is
    /// unique per piece and below `chunks + group.count` (for partial sums); pieces of one
    /// parameter have increasing slots.
    func run(host: Host, _ body: (Int, Int, Int, Int, Int) -> Void) {
        guard total > 0 else { return }
        let total = total, per = per
        entries.withUnsafeBufferPointer { entries in
            let count = entries.count
            host.parallelFor(count: chunks, grain: 1) { first, last in
                for c in first..<last {
                    let lo = c * per, hi = min(total, lo + per)
                    // First parameter whose elements reach past `lo`.
                    var a = 0, b = count
                    while a < b {
                        let m = (a + b) / 2
                        if entries[m].offset + entries[m].size <= lo { a = m + 1 } else { b = m }
                    }
                    var t = a
                    while t < count && entries[t].offset < hi {
                        let e = entries[t]
                        if e.size > 0 {
                            let s = Self.edge(lo, e), end = hi == total ? e.size : Self.edge(hi, e)
                            if s < end { body(t, e.dense, s, end, c + t) }
                        }
                        t += 1
                    }
                }
            }
        }
    }

    /// Zeroes `width` partial sums per piece slot.
    func resetPartials(width: Int) {
        let n = (chunks + entries.count) * width
        if partials.count < n { partials = Array(repeating: 0, count: n) }
        partials.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { p[i] = 0 }
        }
    }

    /// The sum of parameter `t`'s partials (component `k` of `width`), in chunk order, so
    /// the result does not depend on which thread ran which piece.
    func reduce(_ t: Int, component k: Int = 0, width: Int = 1) -> Double {
        let e = entries[t]
        guard e.size > 0 else { return 0 }
        var s = 0.0
        let firstChunk = e.offset / per, lastChunk = min(chunks - 1, (e.offset + e.size - 1) / per)
        for c in firstChunk...lastChunk { s += partials[(c + t) * width + k] }
        return s
    }
}

/// The shape of the step most optimizers share: a serial pass over the parameters that
/// advances their scalar state and resolves this step's float32 coefficients, then one
/// parallel pass of the elementwise kernel over every piece of every tensor.
protocol ElementwiseAlgorithm: OptimizerAlgorithm {
    associatedtype Args
    var host: Host { get }
    var scratch: StepScratch<Args> { get }
    /// Called once per group step before any `coefficients`; resets per-step caches.
    func begin(_ values: Values) throws(PluginError)
    /// Advances `param`'s scalar state and returns its coefficients for this step.
    func coefficients(_ values: Values, _ param: Param) throws(PluginError) -> Args
    /// Runs the kernel over elements [lo, hi) of `param`.
    func kernel(_ param: Param, _ lo: Int, _ hi: Int, _ args: UnsafePointer<Args>)
}

extension ElementwiseAlgorithm {
    func begin(_ values: Values) throws(PluginError) {}

    func runElementwise(_ group: Group) throws(PluginError) -> StepOutcome {
        let values = group.values
        try begin(values)
        scratch.plan(group, threads: host.threadCount)
        guard scratch.total > 0 else { return StepOutcome(STEPWISE_SKIPPED) }
        // A local array: appends check neither exclusive access nor the class's storage.
        var args: [Args] = []
        swap(&args, &scratch.args)
        defer { swap(&args, &scratch.args) }
        args.removeAll(keepingCapacity: true)
        for i in 0..<group.count {
            let p = group[i]
            if p.hasGrad { args.append(try coefficients(values, p)) }
        }
        args.withUnsafeBufferPointer { args in
            guard let base = args.baseAddress else { return }
            scratch.run(host: host) { t, dense, lo, hi, _ in kernel(group[t], lo, hi, base + dense) }
        }
        return .stepped
    }
}

/// Parses a tiny JSON array of numbers and nulls, such as Adafactor's `eps` `[null, 0.001]`
/// (the ABI passes such values as JSON text). Returns nil on anything else.
func parseNumberList(_ text: String) -> [Double?]? {
    let trimmed = text.filter { !$0.isWhitespace }
    guard trimmed.first == "[", trimmed.last == "]" else { return nil }
    let body = trimmed.dropFirst().dropLast()
    if body.isEmpty { return [] }
    var out: [Double?] = []
    for item in body.split(separator: ",", omittingEmptySubsequences: false) {
        if item == "null" { out.append(nil); continue }
        guard let x = Double(item) else { return nil }
        out.append(x)
    }
    return out
}
