import Foundation
import StepwiseABI

/// What one `step()` of a wrapper did.
public struct WrapperStepReport: Sendable, Equatable {
    /// Whether the optimizer's step ran (false when the wrapper skipped it: a loss-scaler
    /// overflow, or `nonfinite: skip`).
    public var stepped: Bool
    /// A gradient (or a loss of the window) was NaN or infinite.
    public var foundNonFinite: Bool
    /// The total gradient norm before clipping (clip by norm, finite norms only).
    public var gradNorm: Double?
    /// The loss scale after the step (1 without a loss scaler).
    public var lossScale: Double
}

/// What one `updateParams` did.
public struct UpdateReport: Sendable, Equatable {
    /// The loss as given (before the wrapper's scaling).
    public var loss: Double
    /// The factor backward ran with: loss scale / accumulation divisor.
    public var lossFactor: Double
    /// The step, when this iteration ended an accumulation window.
    public var step: WrapperStepReport?
}

/// MMEngine's OptimWrapper / AmpOptimWrapper API over an optimizer and a wrapper
/// component from a plugin: `updateParams`, `backward`, `step`, `zeroGrad`,
/// `shouldUpdate`, `shouldSync`, `optimContext`, `initializeCountStatus`, `getLR`,
/// `getMomentum`, `paramGroups`, `stateDict` / `loadStateDict`.
///
/// The model's backward pass is a closure: the wrapper calls it with the factor its loss
/// must be multiplied by (loss scale / accumulation divisor), and the closure *adds* the
/// gradients of `loss * factor` to each parameter's `grad` (setting `hasGrad`), as
/// torch's autograd accumulates into `.grad`.
public final class OptimWrapper: @unchecked Sendable {
    public let optimizer: Optimizer
    /// The wrapper component (OptimWrapper, AmpOptimWrapper, or a third-party one).
    public let component: Component
    /// Its hyperparameters (accumulative_counts, clip_grad, loss_scale, dtype, ...).
    public let values: ResolvedValues
    /// How the param groups were built (paramwise settings), for inspection.
    public let plan: ParamGroupPlan
    /// Low-precision copies and casts for model code (`dtype`; float32 otherwise).
    public let precision: PrecisionContext
    /// MMEngine's `base_param_settings`: with several param groups, a copy of the
    /// optimizer's defaults that schedulers update like a group (see `schedulerValues`).
    public let baseParamSettings: ResolvedValues?

    let wrapper: WrapperInstance
    /// MindSpore `grad_centralization`, per param group.
    let centralized: [Bool]
    /// The C views of the optimizer's groups, handed to `pre_step` every window.
    let groupViews: [UnsafePointer<stepwise_group>?]
    let hasLossScaler: Bool

    /// MMEngine's `_inner_count`: backward passes so far.
    public internal(set) var innerCount = 0
    /// MMEngine's `_max_counts`, or nil when `initializeCountStatus` was not called.
    public private(set) var maxCounts: Int?
    public private(set) var lastStep: WrapperStepReport?
    /// Windows whose gradients (or losses) held NaN or infinity.
    public private(set) var nonFiniteSteps = 0
    private var windowLossNonFinite = false

    public var typeName: String { component.typeName }
    public var paramGroups: [ParamGroup] { optimizer.paramGroups }
    public var accumulativeCounts: Int { Int(values["accumulative_counts"]?.int ?? 1) }
    /// The wrapper's non-finite policy (`nonfinite`), when it declares one.
    public let nonFinitePolicy: String?
    /// Data parallel: averages the gradients across processes at each window end, before
    /// the wrapper's `pre_step` (nil in a single process). Never called inside a window.
    public var gradientSync: GradientSynchronizer?
    /// The config asked for ZeroRedundancyOptimizer: `distribute` shards the state.
    public internal(set) var shardsOptimizerState = false

    /// Makes this wrapper one rank of a data-parallel run: gradients are averaged over
    /// `communicator` at each window end and, with ZeroRedundancyOptimizer, each rank
    /// keeps and updates only its shard of the optimizer state (ZeRO-1).
    public func distribute(over communicator: Communicator) {
        gradientSync = shardsOptimizerState
            ? ZeroRedundancy(communicator: communicator, groups: optimizer.paramGroups.map(\.params))
            : GradientAllReduce(communicator: communicator)
    }

    /// Builds `{type: OptimWrapper, optimizer: {...}, paramwise_cfg: ..., <wrapper keys>}`
    /// over `params` (in model order, each with its name and tag). `paramGroups`, when
    /// given, are explicit torch / MindSpore groups (see `Paramwise.paramGroups`).
    public convenience init(registry: PluginRegistry, config: ConfigDict, params: [Parameter],
                            paramGroups: [ConfigDict]? = nil) throws {
        let parts = try OptimWrapperConfig(config)
        let plan = try parts.plan(params: params.map(\.spec), explicitGroups: paramGroups)
        let optimizer = try Optimizer(registry: registry, config: parts.optimizer, params: params,
                                      paramGroups: plan.optimizerGroups)
        try self.init(optimizer: optimizer, registry: registry, config: parts.wrapper, plan: plan)
        shardsOptimizerState = parts.shardsOptimizerState
    }

    /// Wraps an optimizer built elsewhere. `config` holds the wrapper's `type` (default
    /// OptimWrapper) and hyperparameters.
    public init(optimizer: Optimizer, registry: PluginRegistry,
                config: ConfigDict = ConfigDict(["type": .string("OptimWrapper")]), plan: ParamGroupPlan? = nil) throws {
        var wrapperConfig = config
        if wrapperConfig["type"] == nil { wrapperConfig["type"] = .string("OptimWrapper") }
        component = try registry.component(.wrapper, for: wrapperConfig)
        values = try component.resolve(wrapperConfig)
        wrapper = try WrapperInstance(component: component, values: values)
        self.optimizer = optimizer
        self.plan = plan ?? ParamGroupPlan(source: optimizer.paramGroups.count > 1 ? .paramGroups : .single,
                                           groups: optimizer.paramGroups.map { .init(params: $0.params.map(\.name)) })
        centralized = optimizer.paramGroups.indices.map { i in
            plan.map { i < $0.groups.count && $0.groups[i].gradCentralization } ?? false
        }
        // dtype None under a loss-scaling wrapper: torch's CPU autocast default, bfloat16.
        let dtype = values["dtype"]?.string
        guard let precision = Precision(rawValue: dtype ?? (component.hyperparam(named: "dtype") != nil ? "bfloat16" : "float32")) else {
            throw StepwiseError.config("wrapper \(component.typeName): dtype '\(dtype ?? "")' is not float16, bfloat16 or float32")
        }
        self.precision = PrecisionContext(dtype: precision)
        nonFinitePolicy = values["nonfinite"]?.string
        hasLossScaler = component.hyperparam(named: "loss_scale") != nil
        groupViews = optimizer.paramGroups.map { UnsafePointer($0.cGroup) }
        baseParamSettings = optimizer.paramGroups.count > 1 ? optimizer.defaults.copy() : nil
    }

    // MARK: Iteration

    /// MMEngine's `initialize_count_status`: the run starts at `initCounts` (a resume)
    /// and has `maxCounts` iterations, so the last, short accumulation window divides the
    /// loss by its real length.
    public func initializeCountStatus(initCounts: Int = 0, maxCounts: Int) throws {
        innerCount = initCounts
        self.maxCounts = maxCounts
        if initCounts % max(accumulativeCounts, 1) != 0 {
            HostServices.log(STEPWISE_LOG_WARNING, "Resumed iteration number \(initCounts) is not divisible by accumulative_counts \(accumulativeCounts): the gradients of the interrupted window are lost, which may influence the result slightly")
        }
        try wrapper.reset(startIter: initCounts, maxIters: maxCounts)
    }

    /// The factor the current iteration's loss is multiplied by before backward.
    public var lossFactor: Double { wrapper.lossFactor(iter: innerCount) }
    /// The loss scale (1 without a loss scaler).
    public var lossScale: Double { wrapper.lossScale }

    /// MMEngine's `scale_loss`: the loss divided for accumulation (not loss-scaled).
    public func scaleLoss(_ loss: Double) -> Double { loss * lossFactor / lossScale }

    /// MMEngine's `update_params`: backward with the wrapper's factor, then, at the end
    /// of an accumulation window, `step()` and `zeroGrad()`. `stepClosure` goes to the
    /// optimizer's step (closure optimizers such as LBFGS; MMEngine's `step_kwargs`).
    @discardableResult
    public func updateParams(loss: Double, stepClosure: (() throws -> Double)? = nil,
                             backward: (Double) throws -> Void) throws -> UpdateReport {
        let factor = lossFactor
        if !loss.isFinite { noteNonFiniteLoss(loss) }
        try backward(factor)
        innerCount += 1
        var report = UpdateReport(loss: loss, lossFactor: factor, step: nil)
        if shouldUpdate() {
            report.step = try step(closure: stepClosure)
            zeroGrad()
        }
        return report
    }

    /// MMEngine's `backward`: runs the model's backward on the loss times the loss scale
    /// (no accumulation division; `updateParams` applies that) and counts the iteration.
    public func backward(_ body: (Double) throws -> Void) rethrows {
        try body(lossScale)
        innerCount += 1
    }

    /// Whether the iteration just counted by `backward` ends an accumulation window.
    public func shouldUpdate() -> Bool { wrapper.shouldUpdate(iter: innerCount - 1) }

    /// Whether gradients must be synchronized in the coming iteration (false inside an
    /// accumulation window); called before backward, as MMEngine's `should_sync`.
    public func shouldSync() -> Bool { wrapper.shouldSync(iter: innerCount) }

    /// MMEngine's `optim_context`: runs the forward pass with the precision context
    /// active (autocast under an AmpOptimWrapper).
    public func optimContext<R>(_ body: (PrecisionContext) throws -> R) rethrows -> R {
        try precision.withAutocast { try body(precision) }
    }

    /// MMEngine's `step`: the wrapper prepares the gradients (unscale, check, clip), the
    /// optimizer steps unless the wrapper skips, then the wrapper updates (loss scale).
    /// `closure` re-evaluates the loss for closure optimizers; a loss scaler refuses it,
    /// as torch's GradScaler does.
    @discardableResult
    public func step(closure: (() throws -> Double)? = nil) throws -> WrapperStepReport {
        if closure != nil && hasLossScaler {
            throw StepwiseError.usage("\(component.typeName): closure use is not supported with a loss scaler (torch's GradScaler refuses it too); use an OptimWrapper for closure optimizers such as LBFGS")
        }
        if let gradientSync {
            windowLossNonFinite = try gradientSync.synchronize(optimizer.paramGroups.flatMap(\.params),
                                                               lossNonFinite: windowLossNonFinite)
        }
        for group in optimizer.paramGroups { group.exposeGradients() }
        let pre = try wrapper.preStep(groups: groupViews)
        let skipLoss = windowLossNonFinite && nonFinitePolicy == "skip"
        let runStep = pre.step && !skipLoss
        if runStep {
            centralizeGradients()
            let all = gradientSync == nil ? [] : optimizer.paramGroups.flatMap(\.params)
            try gradientSync?.beforeOptimizerStep(all)
            try optimizer.step(closure: closure)
            try gradientSync?.afterOptimizerStep(all)
            precision.invalidate()
        }
        try wrapper.postStep(stepped: runStep)
        let found = pre.foundNonFinite || windowLossNonFinite
        windowLossNonFinite = false
        let report = WrapperStepReport(stepped: runStep, foundNonFinite: found, gradNorm: pre.gradNorm,
                                       lossScale: wrapper.lossScale)
        if found { noteNonFiniteStep(report) }
        lastStep = report
        return report
    }

    /// MMEngine's `zero_grad` (torch's default `set_to_none=True`).
    public func zeroGrad(setToNone: Bool = true) { optimizer.zeroGrad(setToNone: setToNone) }

    // MARK: Hyperparameters

    /// MMEngine's `get_lr`: `lr` per param group, plus `base_lr` with several groups.
    public func getLR() -> [String: [Double]] {
        var out: [String: [Double]] = ["lr": paramGroups.compactMap { $0.get(role: STEPWISE_ROLE_LR) }]
        if let base = baseParamSettings, let name = base.name(for: STEPWISE_ROLE_LR), let i = base.index(of: name),
           let lr = base.double(at: i) {
            out["base_lr"] = [lr]
        }
        return out
    }

    /// MMEngine's `get_momentum`: SGD's `momentum` or Adam's `betas[0]` per group, else 0.
    public func getMomentum() -> [String: [Double]] {
        ["momentum": paramGroups.map { $0.get(role: STEPWISE_ROLE_MOMENTUM) ?? 0 }]
    }

    /// What parameter schedulers drive, as MMEngine's wrapper `param_groups`: every
    /// group's values, then `base_param_settings` when there are several groups (driven
    /// like a group, never recorded). Changes made through it are the optimizer's.
    public var scheduleValues: ResolvedGroupValues {
        ResolvedGroupValues(groups: paramGroups.map(\.values), extra: baseParamSettings)
    }

    // MARK: Private

    /// MindSpore's gradient centralization: for a gradient of rank >= 2 whose second
    /// extent is a multiple of 16, subtract its mean over every axis but the first.
    private func centralizeGradients() {
        for (group, on) in zip(paramGroups, centralized) where on {
            for p in group.params where p.hasGrad && p.shape.count >= 2 && p.shape[1] % 16 == 0 {
                let rows = p.shape[0], width = p.count / max(rows, 1)
                guard width > 0 else { continue }
                for r in 0..<rows {
                    let row = UnsafeMutableBufferPointer(rebasing: p.grad[(r * width)..<((r + 1) * width)])
                    var sum = 0.0
                    for x in row { sum += Double(x) }
                    let mean = Float(sum / Double(width))
                    for k in row.indices { row[k] -= mean }
                }
            }
        }
    }

    private func noteNonFiniteLoss(_ loss: Double) {
        windowLossNonFinite = true
        if nonFinitePolicy != "ignore" {
            HostServices.log(STEPWISE_LOG_WARNING, "\(component.typeName): the loss of iteration \(innerCount) is \(loss)")
        }
    }

    private func noteNonFiniteStep(_ report: WrapperStepReport) {
        nonFiniteSteps += 1
        // A loss scaler skipping an overflow step is routine; the plain wrapper's are not.
        guard !hasLossScaler else { return }
        // First few occurrences, then powers of two: visible without flooding the log.
        guard nonFiniteSteps <= 3 || nonFiniteSteps & (nonFiniteSteps - 1) == 0 else { return }
        let what = report.stepped ? "the step was applied as MMEngine does (nonfinite: skip skips such steps)"
                                  : "the optimizer step was skipped"
        HostServices.log(STEPWISE_LOG_WARNING, "\(component.typeName): non-finite gradients at iteration \(innerCount - 1) (\(nonFiniteSteps) so far); \(what)")
    }
}

extension ParamGroup {
    /// Points the group's C view at this step's gradients (NULL without one), so a
    /// wrapper's `pre_step` sees exactly what the optimizer will.
    func exposeGradients() {
        for (i, p) in params.enumerated() { cParams[i].grad = p.hasGrad ? p.grad.baseAddress : nil }
    }
}

extension Parameter {
    /// Adds `factor * values` to the gradient in float32 (torch accumulating into
    /// `.grad`), or writes it when the parameter has no gradient yet.
    public func accumulateGrad(_ values: UnsafeBufferPointer<Float>, factor: Float = 1) {
        precondition(values.count == count, "gradient of \(name): \(values.count) values for \(count)")
        if hasGrad {
            for i in 0..<count { grad[i] += factor * values[i] }
        } else {
            for i in 0..<count { grad[i] = factor * values[i] }
            hasGrad = true
        }
    }
}
