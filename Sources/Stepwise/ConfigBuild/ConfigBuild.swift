import StepwiseABI

/// Every component a whole config names, built over a model's parameters: the optimizer
/// wrapper(s) (`optim_wrapper`, or MMCV's `optimizer` + `optimizer_config` + `fp16`), each
/// wrapper's parameter schedulers (`param_scheduler`, or MMCV's `lr_config` /
/// `momentum_config`), the `custom_hooks`, and the loop they run in (`train_cfg`, or
/// MMCV's `runner`). Every other section is kept in `config` and ignored.
///
/// Building reports every problem at once (`ConfigBuildError`), each at its file and line.
public final class ConfigBuild {
    public struct Options: Sendable {
        /// Iterations per epoch (the data loader's length) for an epoch-based loop; the
        /// config's `iters_per_epoch` when nil, else 1 (with a warning).
        public var itersPerEpoch: Int?
        public init(itersPerEpoch: Int? = nil) { self.itersPerEpoch = itersPerEpoch }
    }

    /// One optimizer wrapper and the schedulers that drive its param groups.
    public struct Scheduled {
        /// The wrapper's name in an OptimWrapperDict; nil for a single wrapper.
        public let name: String?
        public let wrapper: OptimWrapper
        public let schedulers: ParamSchedulers
        /// What each scheduler is called in the config: "param_scheduler[0]", "lr_config", ...
        public let labels: [String]
        public let types: [String]
    }

    public let config: ConfigDict
    public let style: ConfigStyle
    public let loop: TrainLoop
    /// The loop the schedulers were built for.
    public let scheduleLoop: ScheduleLoopShape
    public let params: [Parameter]
    public let optimWrapper: AnyOptimWrapper
    public let scheduled: [Scheduled]
    public let hooks: [PluginHook]
    /// Sections written for the other runner, defaults assumed, and the like.
    public let warnings: [ConfigDiagnostic]
    /// Whether the wrapper is told the run's length, so a short last accumulation window
    /// divides by its own length and steps at the end (MMEngine; MMCV's cumulative hooks).
    /// False for MMSelfSup's GradAccumFp16OptimizerHook, which drops that window.
    public let countsToEnd: Bool

    init(config: ConfigDict, style: ConfigStyle, loop: TrainLoop, scheduleLoop: ScheduleLoopShape, params: [Parameter],
         optimWrapper: AnyOptimWrapper, scheduled: [Scheduled], hooks: [PluginHook], warnings: [ConfigDiagnostic],
         countsToEnd: Bool) {
        self.config = config; self.style = style; self.loop = loop; self.scheduleLoop = scheduleLoop
        self.params = params; self.optimWrapper = optimWrapper; self.scheduled = scheduled; self.hooks = hooks
        self.warnings = warnings; self.countsToEnd = countsToEnd
    }

    /// Builds over `params` (model order). Throws `ConfigBuildError` with every problem.
    public static func build(config: ConfigDict, registry: PluginRegistry, params: [Parameter],
                             options: Options = Options()) throws -> ConfigBuild {
        let result = check(config: config, registry: registry, params: params, options: options)
        guard let built = result.build else { throw ConfigBuildError(diagnostics: result.errors) }
        return built
    }

    /// Builds over zero-filled parameters of the given names, shapes and tags.
    public static func build(config: ConfigDict, registry: PluginRegistry, specs: [ParamSpec],
                             options: Options = Options()) throws -> ConfigBuild {
        try build(config: config, registry: registry, params: specs.map { Parameter(name: $0.name, shape: $0.shape, tag: $0.tag) },
                  options: options)
    }

    /// Builds what it can and reports every problem: `stepwise config check`.
    public static func check(config: ConfigDict, registry: PluginRegistry, params: [Parameter],
                             options: Options = Options()) -> ConfigCheckResult {
        var builder = ConfigBuilder(config: config, registry: registry, params: params, options: options)
        let built = builder.run()
        return ConfigCheckResult(build: built, diagnostics: builder.sink.items)
    }

    /// The total iterations of the run.
    public var maxIters: Int { scheduleLoop.maxIters }

    /// A runner for this loop with the schedulers' hook and the config's hooks registered,
    /// and the wrapper counting toward the end of the run (MMEngine's
    /// `initialize_count_status`), so a short last accumulation window divides by its
    /// own length. The caller sets `trainStep` (and `valStep`). An iteration-based loop
    /// runs as one epoch, as the references call the epoch hooks once; it validates at
    /// its end only (the runner counts validation intervals in epochs).
    public func makeRunner(workDir: String) throws -> Runner {
        let runner: Runner
        switch loop.length {
        case .epochs(let e):
            runner = Runner(maxEpochs: e, itersPerEpoch: scheduleLoop.itersPerEpoch, valInterval: loop.valInterval, workDir: workDir)
        case .iterations(let n):
            runner = Runner(maxIters: n, itersPerEpoch: n, valInterval: loop.valInterval > 0 ? 1 : 0, workDir: workDir)
        }
        if countsToEnd { try optimWrapper.initializeCountStatus(maxCounts: maxIters) }
        runner.params = params
        runner.register(ParamSchedulerHook(scheduled.map(\.schedulers)))
        hooks.forEach(runner.register)
        return runner
    }
}

/// What `ConfigBuild.check` found: the build when nothing was wrong, and every diagnostic.
public struct ConfigCheckResult {
    public var build: ConfigBuild?
    public var diagnostics: [ConfigDiagnostic]
    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// The sections of a whole config, each built independently so that one section's
/// problems do not hide another's.
struct ConfigBuilder {
    let config: ConfigDict
    let registry: PluginRegistry
    let params: [Parameter]
    let options: ConfigBuild.Options
    var sink: DiagnosticSink
    let style: ConfigStyle
    var countsToEnd = true

    init(config: ConfigDict, registry: PluginRegistry, params: [Parameter], options: ConfigBuild.Options) {
        self.config = config
        self.registry = registry
        self.params = params
        self.options = options
        sink = DiagnosticSink(config: config)
        style = ConfigStyle.of(config)
    }

    var file: ConfigOrigin { ConfigOrigin(file: config.origin?.file ?? "<config>") }
    func origin(_ key: String) -> ConfigOrigin { config.origin(of: key) ?? file }

    mutating func run() -> ConfigBuild? {
        noteIgnoredSections()
        let loop = sink.attempt(section: style == .mmengine ? "train_cfg" : "runner",
                                at: origin(style == .mmengine ? "train_cfg" : "runner")) { try TrainLoop.read(config, style: style) }
        let scheduleLoop = loop.map { $0.scheduleLoop(itersPerEpoch: itersPerEpoch(for: $0)) }
        let wrapper = buildWrappers()
        let scheduled = buildSchedulers(wrapper: wrapper, loop: scheduleLoop)
        let hooks = buildHooks()
        guard !sink.hasErrors, let loop, let scheduleLoop, let wrapper, let scheduled, let hooks else { return nil }
        return ConfigBuild(config: config, style: style, loop: loop, scheduleLoop: scheduleLoop, params: params,
                           optimWrapper: wrapper, scheduled: scheduled, hooks: hooks, warnings: sink.items,
                           countsToEnd: countsToEnd)
    }

    private mutating func itersPerEpoch(for loop: TrainLoop) -> Int {
        guard loop.isEpochBased else { return 1 }
        if let n = options.itersPerEpoch { return n }
        if let n = config["iters_per_epoch"]?.int, n > 0 { return Int(n) }
        sink.warn("the epoch length is not known (it is the data loader's); schedules are built for 1 iteration per epoch — "
                  + "give the real one (--iters-per-epoch) to see real iteration counts", section: "train_cfg", at: loop.origin)
        return 1
    }

    /// Sections the other runner reads: present, but not what this config's runner uses.
    private mutating func noteIgnoredSections() {
        let ignored: [String]
        let reader: String
        switch style {
        case .mmengine:
            ignored = ["optimizer_config", "lr_config", "momentum_config", "runner", "total_epochs", "fp16"]
            reader = "an MMEngine config (it has optim_wrapper / param_scheduler / train_cfg); MMEngine's Runner does not read it"
        case .mmcv:
            ignored = ["param_scheduler", "optim_wrapper"]
            reader = "an MMCV 1.x config (it has optimizer / optimizer_config / lr_config / runner); MMCV's runner does not read it"
        }
        for key in ignored where config[key] != nil && config[key] != .null {
            sink.warn("\(key) is ignored: this is \(reader)", section: key, at: origin(key))
        }
    }

    // MARK: Hooks

    private mutating func buildHooks() -> [PluginHook]? {
        guard let value = config["custom_hooks"], value != .null else { return [] }
        guard let list = value.list else {
            sink.error("custom_hooks must be a list of hook dicts such as [dict(type='EMAHook')], got \(value.typeDescription)",
                       section: "custom_hooks", at: origin("custom_hooks"))
            return nil
        }
        var hooks: [PluginHook] = []
        var failed = false
        let registry = self.registry
        for (i, item) in list.enumerated() {
            let label = "custom_hooks[\(i)]"
            guard let d = item.dict else {
                sink.error("\(label) must be a hook dict with a 'type', got \(item.typeDescription)", section: label, at: origin("custom_hooks"))
                failed = true
                continue
            }
            if let hook = buildOrExplain(d, section: label, { try PluginHook(registry: registry, config: $0) }) {
                hooks.append(hook)
            } else {
                failed = true
            }
        }
        return failed ? nil : hooks
    }

    /// Builds `dict`, or finds every problem it has.
    mutating func buildOrExplain<T>(_ dict: ConfigDict, section: String, _ make: (ConfigDict) throws -> T) -> T? {
        if let built = try? make(dict) { return built }
        sink.explain(dict, section: section) { _ = try make($0) }
        return nil
    }
}
