import StepwiseABI

/// Which parameter lands in which param group with which hyperparameter overrides, and
/// why: the result of parameter-wise configuration, before an optimizer is built from it.
/// `stepwise groups` prints it so a config can be checked before training.
public struct ParamGroupPlan: Sendable, Equatable {
    /// What produced the groups.
    public enum Source: String, Sendable {
        case single            // no parameter-wise settings: one group of every parameter
        case paramwiseCfg      // MMEngine / MMCV 1.x `paramwise_cfg`
        case paramwiseOptions  // MMCV / MMSelfSup regex `paramwise_options`
        case paramGroups       // explicit torch / MindSpore param groups
    }

    public struct Group: Sendable, Equatable {
        /// Parameter names, in optimizer order.
        public var params: [String]
        /// Per-group hyperparameters overriding the optimizer's defaults.
        public var overrides: ConfigDict
        /// MindSpore's `grad_centralization`: gradients of this group are centralized.
        public var gradCentralization: Bool = false

        public init(params: [String], overrides: ConfigDict = ConfigDict(), gradCentralization: Bool = false) {
            self.params = params; self.overrides = overrides; self.gradCentralization = gradCentralization
        }

        /// The group as the optimizer takes it: `{params: [...], <overrides>}`.
        public var config: ConfigDict {
            var d = ConfigDict()
            d["params"] = .list(params.map(ConfigValue.string))
            for e in overrides.entries { d[e.key, origin: e.origin] = e.value }
            return d
        }
    }

    public var source: Source
    public var groups: [Group]
    /// Why each parameter got its settings ("bias_lr_mult=2.0", "custom_keys['backbone']").
    public var reasons: [String: [String]] = [:]
    /// Parameters that are not optimized, with the reason.
    public var skipped: [(name: String, reason: String)] = []

    public init(source: Source, groups: [Group]) {
        self.source = source
        self.groups = groups
    }

    public static func == (a: ParamGroupPlan, b: ParamGroupPlan) -> Bool {
        a.source == b.source && a.groups == b.groups && a.reasons == b.reasons
            && a.skipped.map(\.name) == b.skipped.map(\.name) && a.skipped.map(\.reason) == b.skipped.map(\.reason)
    }

    /// The group index of every optimized parameter.
    public var groupOf: [String: Int] {
        var out: [String: Int] = [:]
        for (i, g) in groups.enumerated() { for p in g.params { out[p] = i } }
        return out
    }

    /// The group configs for `Optimizer`, or nil for one group of every parameter.
    var optimizerGroups: [ConfigDict]? {
        source == .single ? nil : groups.map(\.config)
    }

    /// Merges groups with identical settings into the first of them, keeping parameter
    /// order. MMEngine's constructor makes one group per parameter; merging gives every
    /// parameter the same hyperparameters while the optimizer steps in one call per
    /// distinct setting instead of one per tensor.
    mutating func mergeIdenticalGroups() {
        var merged: [Group] = []
        var index: [String: Int] = [:]
        for g in groups {
            let key = Self.settingsKey(g)
            if let i = index[key] {
                merged[i].params += g.params
            } else {
                index[key] = merged.count
                merged.append(g)
            }
        }
        groups = merged
    }

    private static func settingsKey(_ g: Group) -> String {
        let entries = g.overrides.entries.sorted { $0.key < $1.key }.map { "\($0.key)=\(ValueCodec.render($0.value))" }
        return entries.joined(separator: ",") + "|gc=\(g.gradCentralization)"
    }
}

/// A parameter as parameter-wise configuration sees it: name, shape and the kind of
/// layer that owns it. No storage, so configs can be checked for any model size.
public struct ParamSpec: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var tag: stepwise_param_tag

    public init(name: String, shape: [Int], tag: stepwise_param_tag = STEPWISE_PARAM_WEIGHT) {
        self.name = name; self.shape = shape; self.tag = tag
    }

    public var count: Int { shape.reduce(1, *) }

    public static func == (a: ParamSpec, b: ParamSpec) -> Bool {
        a.name == b.name && a.shape == b.shape && a.tag == b.tag
    }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(shape); h.combine(tag.rawValue) }
}

extension Parameter {
    public var spec: ParamSpec { ParamSpec(name: name, shape: shape, tag: tag) }
}

/// What the paramwise rules know about a parameter: its name split at the last dot into
/// the owning module and the leaf, and what kind of layer owns it.
struct ParamFacts {
    let name: String
    let module: String
    let leaf: String
    let tag: stepwise_param_tag
    let rank: Int
    /// The module is a normalization / depth-wise conv layer: one of its parameters is
    /// tagged so (a norm layer's bias counts as norm, as MMEngine decides per module).
    let inNormModule: Bool
    let inDWConvModule: Bool

    var isBias: Bool { leaf == "bias" || tag == STEPWISE_PARAM_BIAS }
    /// The string MMEngine matches custom keys against: f'{prefix}.{name}', which is
    /// ".weight" for a parameter of the top-level module.
    var customKeyTarget: String { "\(module).\(leaf)" }

    static func describe(_ params: [ParamSpec]) -> [ParamFacts] {
        func split(_ name: String) -> (String, String) {
            guard let dot = name.lastIndex(of: ".") else { return ("", name) }
            return (String(name[..<dot]), String(name[name.index(after: dot)...]))
        }
        var norm = Set<String>(), dwconv = Set<String>()
        for p in params {
            let (module, _) = split(p.name)
            if p.tag == STEPWISE_PARAM_NORM { norm.insert(module) }
            if p.tag == STEPWISE_PARAM_DWCONV { dwconv.insert(module) }
        }
        return params.map { p in
            let (module, leaf) = split(p.name)
            return ParamFacts(name: p.name, module: module, leaf: leaf, tag: p.tag, rank: p.shape.count,
                              inNormModule: p.tag == STEPWISE_PARAM_NORM || norm.contains(module),
                              inDWConvModule: p.tag == STEPWISE_PARAM_DWCONV || dwconv.contains(module))
        }
    }
}

extension stepwise_param_tag {
    /// The tag's name in configs and `--params` specs.
    public var name: String {
        switch self {
        case STEPWISE_PARAM_WEIGHT: "weight"
        case STEPWISE_PARAM_BIAS: "bias"
        case STEPWISE_PARAM_NORM: "norm"
        case STEPWISE_PARAM_DWCONV: "dwconv"
        case STEPWISE_PARAM_EMBEDDING: "embedding"
        default: "other"
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "weight": self = STEPWISE_PARAM_WEIGHT
        case "bias": self = STEPWISE_PARAM_BIAS
        case "norm": self = STEPWISE_PARAM_NORM
        case "dwconv": self = STEPWISE_PARAM_DWCONV
        case "embedding": self = STEPWISE_PARAM_EMBEDDING
        case "other": self = STEPWISE_PARAM_OTHER
        default: return nil
        }
    }
}
