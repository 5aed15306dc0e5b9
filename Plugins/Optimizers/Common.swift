import StepwiseABI
import StepwiseKit

let perGroup = UInt32(STEPWISE_HP_PER_GROUP)

/// torch keys that only pick a kernel implementation there; accepted, no effect here.
let torchKernelSelectors: [Hyperparam] = [
    .noEffect("foreach"), .noEffect("fused"),
    .noEffect("capturable", default: .bool(false)), .noEffect("differentiable", default: .bool(false)),
]
