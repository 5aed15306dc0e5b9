import Foundation
import StepwiseABI

/// `stepwise bench optimizers`: the step time of every bundled optimizer over several
/// parameter layouts, against the memory bandwidth measured in the same run.
public struct OptimizerBench: Sendable {
    /// A set of parameter tensors to step.
    public struct Layout: Sendable {
        public var name: String
        public var tensors: [(name: String, shape: [Int], tag: stepwise_param_tag)]
        public var count: Int { tensors.reduce(0) { $0 + $1.shape.reduce(1, *) } }

        public static func single(_ name: String, _ n: Int) -> Layout {
            Layout(name: name, tensors: [("w", [n], STEPWISE_PARAM_WEIGHT)])
        }

        /// ResNet-50's 161 parameter tensors (25,557,032 values): 53 convolutions, 53
        /// batch norms (weight and bias) and the classifier.
        public static var resnet50: Layout {
            var t: [(String, [Int], stepwise_param_tag)] = []
            func conv(_ name: String, _ out: Int, _ inp: Int, _ k: Int) { t.append((name + ".weight", [out, inp, k, k], STEPWISE_PARAM_WEIGHT)) }
            func bn(_ name: String, _ c: Int) {
                t.append((name + ".weight", [c], STEPWISE_PARAM_NORM))
                t.append((name + ".bias", [c], STEPWISE_PARAM_NORM))
            }
            conv("conv1", 64, 3, 7); bn("bn1", 64)
            var inputs = 64
            for (stage, (blocks, width)) in zip([3, 4, 6, 3], [64, 128, 256, 512]).enumerated() {
                for b in 0..<blocks {
                    let p = "layer\(stage + 1).\(b)"
                    conv(p + ".conv1", width, inputs, 1); bn(p + ".bn1", width)
                    conv(p + ".conv2", width, width, 3); bn(p + ".bn2", width)
                    conv(p + ".conv3", width * 4, width, 1); bn(p + ".bn3", width * 4)
                    if b == 0 { conv(p + ".downsample.0", width * 4, inputs, 1); bn(p + ".downsample.1", width * 4) }
                    inputs = width * 4
                }
            }
            t.append(("fc.weight", [1000, 2048], STEPWISE_PARAM_WEIGHT))
            t.append(("fc.bias", [1000], STEPWISE_PARAM_BIAS))
            return Layout(name: "resnet50", tensors: t)
        }

        public static var thousandByThousand: Layout {
            Layout(name: "1000x1000", tensors: (0..<1000).map { ("t\($0)", [1000], STEPWISE_PARAM_WEIGHT) })
        }

        /// A layout by name: a standard one, "<N>M" / "<N>K" (one tensor), or "<T>x<N>"
        /// (T tensors of N values each).
        public static func named(_ name: String) -> Layout? {
            if let l = standard.first(where: { $0.name == name }) { return l }
            let parts = name.lowercased().split(separator: "x")
            if parts.count == 2, let t = Int(parts[0]), let n = Int(parts[1]), t > 0, n > 0 {
                return Layout(name: name, tensors: (0..<t).map { ("t\($0)", [n], STEPWISE_PARAM_WEIGHT) })
            }
            let scale: [Character: Int] = ["k": 1_000, "m": 1_000_000]
            if let unit = name.lowercased().last, let f = scale[unit], let n = Int(name.dropLast()), n > 0 {
                return .single(name, n * f)
            }
            return nil
        }

        public static var standard: [Layout] {
            [.single("1M", 1_000_000), .single("10M", 10_000_000), .single("100M", 100_000_000), .resnet50, .thousandByThousand]
        }
    }

    /// One optimizer as benchmarked: its config and the bytes per parameter its step must
    /// move (each buffer read or written once per pass; LARS and LAMB need extra passes for
    /// their norms, LAMB one for gradient clipping).
    public struct Subject: Sendable {
        public var type: String
        public var config: ConfigDict
        public var bytesPerParam: Int
        /// Elementwise optimizers have a bandwidth target; Adafactor (per-tensor norms and
        /// factored statistics) is measured but not held to one.
        public var elementwise = true

        public init(_ type: String, bytes: Int, elementwise: Bool = true, _ extra: KeyValuePairs<String, ConfigValue> = [:]) {
            var c = ConfigDict(["type": .string(type)])
            for (k, v) in extra { c[k] = v }
            self.type = type
            config = c
            bytesPerParam = bytes
            self.elementwise = elementwise
        }
    }

    public static let subjects: [Subject] = [
        Subject("SGD", bytes: 12),                                   // r p g, w p
        Subject("SGD", bytes: 20, ["momentum": .float(0.9)]),        // + r/w momentum buffer
        Subject("Adam", bytes: 28), Subject("AdamW", bytes: 28),    // r p g m v, w p m v
        Subject("Adamax", bytes: 28), Subject("NAdam", bytes: 28), Subject("RAdam", bytes: 28),
        Subject("Adagrad", bytes: 20), Subject("Adadelta", bytes: 28), Subject("RMSprop", bytes: 20),
        Subject("Rprop", bytes: 28), Subject("ASGD", bytes: 20), Subject("Lion", bytes: 20),
        Subject("LARS", bytes: 28, ["lr": .float(0.1), "momentum": .float(0.9)]),  // norms: r p g; step: r p g b, w p b
        Subject("LAMB", bytes: 44),            // clip: r g; moments: r p g m v, w m v; apply: r p m v, w p
        Subject("Adafactor", bytes: 24, elementwise: false),
    ]

    public struct Measurement: Sendable {
        public var type: String
        public var label: String
        public var layout: String
        public var params: Int
        public var tensors: Int
        public var seconds: Double
        public var bytesPerParam: Int
        public var elementwise: Bool
        /// The pool's triad bandwidth, probed in alternation with these steps.
        public var bandwidth: Double
        public var nsPerParam: Double { seconds / Double(params) * 1e9 }
        /// Bytes the step must move / time / bandwidth.
        public var fraction: Double { bytesPerSecond / bandwidth }
        public var bytesPerSecond: Double { Double(bytesPerParam * params) / seconds }
    }

    public var layouts: [Layout] = Layout.standard
    public var subjects: [Subject] = OptimizerBench.subjects
    /// Each measurement times steps until this much time has passed (at least 3 steps) and
    /// keeps the best.
    public var minSeconds = 0.25

    public init() {}

    /// Measures every subject on every layout; `progress` receives each measurement.
    public func run(registry: PluginRegistry, progress: (Measurement) -> Void = { _ in }) throws -> [Measurement] {
        var out: [Measurement] = []
        let probe = BandwidthProbe.Buffers(BandwidthProbe().elements)
        for layout in layouts {
            // One set of buffers per layout, reused (and re-filled) for every optimizer.
            let params = layout.tensors.map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag) }
            for subject in subjects {
                for (i, p) in params.enumerated() {
                    BenchData.fill(p.data, seed: UInt64(2 * i + 1))
                    BenchData.fill(p.grad, seed: UInt64(2 * i + 2))
                    p.hasGrad = true
                }
                let (seconds, bandwidth) = try time(subject, params, registry, probe)
                let m = Measurement(type: subject.type, label: Self.label(subject), layout: layout.name,
                                    params: layout.count, tensors: layout.tensors.count, seconds: seconds,
                                    bytesPerParam: subject.bytesPerParam, elementwise: subject.elementwise,
                                    bandwidth: bandwidth)
                progress(m)
                out.append(m)
            }
        }
        return out
    }

    /// The per-tensor overhead check: the step time of `many` over that of `one` (layouts
    /// of the same size), measured in alternation so both see the same machine. A shared
    /// machine's load moves by more than the effect between two separate measurements.
    public func pairedRatio(_ subject: Subject, one: Layout, many: Layout, registry: PluginRegistry) throws -> Double {
        func build(_ layout: Layout) throws -> Optimizer {
            let params = layout.tensors.enumerated().map { i, t -> Parameter in
                let p = Parameter(name: t.name, shape: t.shape, tag: t.tag)
                BenchData.fill(p.data, seed: UInt64(2 * i + 1))
                BenchData.fill(p.grad, seed: UInt64(2 * i + 2))
                p.hasGrad = true
                return p
            }
            let o = try Optimizer(registry: registry, config: subject.config, params: params)
            try o.step()
            try o.step()
            return o
        }
        let a = try build(one), b = try build(many)
        var bestA = Double.infinity, bestB = Double.infinity, total = 0.0, rounds = 0
        while rounds < 5 || total < 2 * minSeconds {
            let ta = try BenchClock.seconds { try a.step() }
            let tb = try BenchClock.seconds { try b.step() }
            bestA = min(bestA, ta)
            bestB = min(bestB, tb)
            total += ta + tb
            rounds += 1
        }
        return bestB / bestA
    }

    /// The best time of one step, after two untimed steps (the first allocates state), and
    /// the best bandwidth of the probe run between steps: on a shared machine the load
    /// changes from one measurement to the next, so each fraction compares numbers taken
    /// in the same window.
    private func time(_ subject: Subject, _ params: [Parameter], _ registry: PluginRegistry,
                      _ probe: BandwidthProbe.Buffers) throws -> (Double, Double) {
        let optimizer = try Optimizer(registry: registry, config: subject.config, params: params)
        try optimizer.step()
        try optimizer.step()
        var best = Double.infinity, bestProbe = Double.infinity, total = 0.0, sinceProbe = 0.0, count = 0
        while count < 3 || total < minSeconds {
            let t = try BenchClock.seconds { try optimizer.step() }
            best = min(best, t)
            total += t
            sinceProbe += t
            count += 1
            // A probe after each of the first steps, then one per ~50 ms of stepping.
            if count <= 3 || sinceProbe >= 0.05 {
                bestProbe = min(bestProbe, BenchClock.seconds { probe.triad(pool: .shared) })
                sinceProbe = 0
            }
        }
        return (best, Double(probe.bytes) / bestProbe)
    }

    public static func label(_ s: Subject) -> String {
        let extras = s.config.entries.filter { $0.key != "type" && $0.key != "lr" }
            .map { "\($0.key)=\(JSONText.render($0.value))" }
        return extras.isEmpty ? s.type : "\(s.type)(\(extras.joined(separator: ",")))"
    }
}
