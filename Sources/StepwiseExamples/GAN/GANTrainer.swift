import Foundation
import Stepwise
import StepwiseABI
import StepwiseModels

/// The GAN example: a generator and a discriminator (dense layers over OpenBLAS, hand-written
/// backward passes), two optimizer wrappers from an OptimWrapperDict, each with its own
/// parameter schedulers, all built from the config through the plugins.
public final class GANTrainer {
    public let ring: Ring
    public let batch: Int
    public let steps: Int
    public let generator: Sequential
    public let discriminator: Sequential
    public let wrappers: OptimWrapperDict
    public let gWrapper: OptimWrapper
    public let dWrapper: OptimWrapper
    public let gSchedulers: ParamSchedulers
    public let dSchedulers: ParamSchedulers
    public let gParams: [Stepwise.Parameter]
    public let dParams: [Stepwise.Parameter]
    /// The training stream (data, noise); evaluation draws from its own streams so that it
    /// never changes what training sees.
    public var rng: Xoshiro256StarStar
    public let seed: UInt64

    private let real: Tensor
    private let noise: Tensor
    private let dInput: Tensor
    private let targets: Tensor
    /// Per iteration: losses, and the lr and momentum (betas[0]) each optimizer used.
    public var history: [Record] = []

    public struct Record: Codable, Equatable {
        public var lossD, lossG: Float
        public var lrG, lrD, momentumG, momentumD: Double
    }

    public init(config: ConfigDict, registry: PluginRegistry, seed: UInt64, steps: Int) throws {
        let data = config["data"]?.dict ?? ConfigDict()
        ring = Ring(modes: Int(data["modes"]?.int ?? 8), radius: Float(data["radius"]?.double ?? 2),
                    std: Float(data["std"]?.double ?? 0.02))
        batch = Int(data["batch_size"]?.int ?? 256)
        self.steps = steps
        self.seed = seed
        rng = Xoshiro256StarStar(seed: seed)
        let model = config["model"]?.dict ?? ConfigDict()
        generator = try Self.mlp(model["generator"]?.dict, default: [2, 128, 128, 2], rng: &rng)
        discriminator = try Self.mlp(model["discriminator"]?.dict, default: [2, 128, 128, 1], rng: &rng)
        guard generator.outputWidth == 2, discriminator.inputWidth == 2, discriminator.outputWidth == 1 else {
            throw StepwiseError.config("the generator must map to 2-D points and the discriminator from 2-D points to one logit")
        }
        gParams = Self.hostParameters(generator)
        dParams = Self.hostParameters(discriminator)

        guard let wrapperConfig = config["optim_wrapper"]?.dict,
              let gConfig = wrapperConfig["generator"]?.dict, let dConfig = wrapperConfig["discriminator"]?.dict else {
            throw StepwiseError.config("optim_wrapper needs a 'generator' and a 'discriminator' wrapper")
        }
        gWrapper = try OptimWrapper(registry: registry, config: gConfig, params: gParams)
        dWrapper = try OptimWrapper(registry: registry, config: dConfig, params: dParams)
        wrappers = try OptimWrapperDict([("generator", gWrapper), ("discriminator", dWrapper)])
        try gWrapper.initializeCountStatus(maxCounts: steps)
        try dWrapper.initializeCountStatus(maxCounts: steps)

        let loop = ScheduleLoopShape(epochs: 1, itersPerEpoch: steps)
        let schedules = config["param_scheduler"]?.dict ?? ConfigDict()
        func schedulers(_ name: String, _ wrapper: OptimWrapper) throws -> ParamSchedulers {
            var document = ConfigDict()
            document["param_scheduler"] = schedules[name] ?? .list([])
            return try ParamSchedulers(registry: registry, config: ScheduleConfig(document: document),
                                       values: wrapper.scheduleValues, loop: loop)
        }
        gSchedulers = try schedulers("generator", gWrapper)
        dSchedulers = try schedulers("discriminator", dWrapper)

        real = Tensor(shape: [batch, 2])
        noise = Tensor(shape: [batch, 2])
        dInput = Tensor(shape: [2 * batch, 2])
        targets = Tensor(shape: [2 * batch])
        for i in 0..<batch { targets.data[i] = 1; targets.data[batch + i] = 0 }
        // The discriminator computes in the low precision of its AMP wrapper during its
        // own step; the generator's step goes through it in float32.
        lowPrecision = MatmulPrecision(rawValue: dWrapper.precision.dtype.rawValue) ?? .float32
    }

    public let lowPrecision: MatmulPrecision

    /// Data parallel: this process is `rank` of `ranks`. Every rank draws the whole global
    /// batch (ranks × batch) from the shared stream and trains on its own slice, so the
    /// stream, and hence a checkpoint, is the same on every rank.
    public var dataParallel: (rank: Int, ranks: Int) = (0, 1)
    private lazy var otherRanksDraws = Tensor(shape: [2 * batch, 2])

    static func mlp(_ cfg: ConfigDict?, default widths: [Int], rng: inout Xoshiro256StarStar) throws -> Sequential {
        let widths = cfg?["widths"]?.list?.compactMap(\.int).map(Int.init) ?? widths
        let activation: Activation
        switch cfg?["activation"]?.string ?? "relu" {
        case "relu": activation = .relu
        case "leaky_relu": activation = .leakyReLU(slope: Float(cfg?["negative_slope"]?.double ?? 0.01))
        case "tanh": activation = .tanh
        case let other: throw StepwiseError.config("activation '\(other)' is not relu, leaky_relu or tanh")
        }
        do { return try Sequential.mlp(widths: widths, activation: activation, using: &rng) } catch {
            throw StepwiseError.config("\(error)")
        }
    }

    /// The model's tensors as host parameters, stepped in place; biases tagged as such.
    static func hostParameters(_ model: Sequential) -> [Stepwise.Parameter] {
        model.parameters().map { p in
            Stepwise.Parameter(name: p.name, shape: p.shape, tag: p.name.hasSuffix("bias") ? STEPWISE_PARAM_BIAS : STEPWISE_PARAM_WEIGHT,
                               data: p.data, grad: p.grad, owner: p.value)
        }
    }

    /// One iteration: a discriminator step on real and generated points, then a generator
    /// step through the updated discriminator (the non-saturating loss).
    public func trainStep() throws -> [(name: String, value: Double)] {
        // The values this iteration's steps use (schedulers move them after the step).
        let lrG = gWrapper.paramGroups[0].get(role: STEPWISE_ROLE_LR) ?? 0
        let lrD = dWrapper.paramGroups[0].get(role: STEPWISE_ROLE_LR) ?? 0
        for k in 0..<dataParallel.ranks {
            let mine = k == dataParallel.rank
            ring.sample(into: mine ? real.data : otherRanksDraws.data, count: batch, rng: &rng)
            rng.fillNormal(mine ? noise.data : otherRanksDraws.data, count: 2 * batch)
        }
        let fake = generator.forward(noise.data, batch: batch)

        // Discriminator: BCE(D(x), 1) + BCE(D(G(z)), 0), both batches in one pass.
        dInput.data.update(from: real.data, count: 2 * batch)
        (dInput.data + 2 * batch).update(from: fake, count: 2 * batch)
        discriminator.precision = lowPrecision
        discriminator.zeroGrad()
        let dFactor = dWrapper.lossFactor
        let dLogits = discriminator.forward(dInput.data, batch: 2 * batch)
        // Mean over 2B is half the sum of the two means; the gradient scales to match.
        let lossD = 2 * BCEWithLogits.loss(logits: dLogits, targets: targets.data, count: 2 * batch,
                                           gradient: discriminator.outputGradient, gradientScale: Float(2 * dFactor))
        let dReport = try dWrapper.updateParams(loss: Double(lossD)) { _ in
            discriminator.backward(outputGrad: discriminator.outputGradient)
            for p in dParams { p.hasGrad = true }
        }

        // Generator: BCE(D(G(z)), 1) through the discriminator in float32.
        discriminator.precision = .float32
        generator.zeroGrad()
        let gFactor = gWrapper.lossFactor
        let gLogits = discriminator.forward(fake, batch: batch)
        let lossG = BCEWithLogits.loss(logits: gLogits, target: 1, count: batch,
                                       gradient: discriminator.outputGradient, gradientScale: Float(gFactor))
        let gReport = try gWrapper.updateParams(loss: Double(lossG)) { _ in
            guard let dx = discriminator.backward(outputGrad: discriminator.outputGradient, inputGrad: true,
                                                  parameterGrads: false) else { return }
            generator.backward(outputGrad: dx)
            for p in gParams { p.hasGrad = true }
        }
        let g = gWrapper.paramGroups[0], d = dWrapper.paramGroups[0]
        history.append(Record(lossD: lossD, lossG: lossG, lrG: lrG, lrD: lrD,
                              momentumG: g.get(role: STEPWISE_ROLE_MOMENTUM) ?? 0,
                              momentumD: d.get(role: STEPWISE_ROLE_MOMENTUM) ?? 0))

        var logged: [(name: String, value: Double)] = [("loss_d", Double(lossD)), ("loss_g", Double(lossG))]
        logged.append(("generator.lr", lrG))
        logged.append(("discriminator.lr", lrD))
        logged.append(("loss_scale", dWrapper.lossScale))
        if let n = gReport.step?.gradNorm { logged.append(("generator.grad_norm", n)) }
        if let n = dReport.step?.gradNorm { logged.append(("discriminator.grad_norm", n)) }
        return logged
    }

    /// `count` generated points, from a noise stream fixed by `stream` (not the training one).
    public func generate(count: Int, stream: UInt64) -> [Float] {
        var evalRNG = Xoshiro256StarStar(seed: seed ^ (0x9E37_79B9_7F4A_7C15 &* (stream + 1)))
        var z = [Float](repeating: 0, count: 2 * count)
        z.withUnsafeMutableBufferPointer { evalRNG.fillNormal($0.baseAddress!, count: 2 * count) }
        let out = generator.forward(z, batch: count)
        return Array(UnsafeBufferPointer(start: out, count: 2 * count))
    }

    public func evaluate(step: Int, samples: Int = 10_000) -> Quality {
        let points = generate(count: samples, stream: UInt64(step))
        return points.withUnsafeBufferPointer { Quality(step: step, points: $0.baseAddress!, count: samples, ring: ring) }
    }

    public func realPoints(count: Int) -> [Float] {
        var r = Xoshiro256StarStar(seed: seed ^ 0xD1B5_4A32_D192_ED03)
        var out = [Float](repeating: 0, count: 2 * count)
        out.withUnsafeMutableBufferPointer { ring.sample(into: $0.baseAddress!, count: count, rng: &r) }
        return out
    }

    public var checkpointWrappers: [RunCheckpoint.Wrapper] {
        [.init(name: "generator", wrapper: gWrapper, schedulers: gSchedulers),
         .init(name: "discriminator", wrapper: dWrapper, schedulers: dSchedulers)]
    }
}
