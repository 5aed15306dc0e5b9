import StepwiseABI
import StepwiseKernels
import StepwiseKit

/// LAMB, as timm.optim.Lamb defines it (NVIDIA apex FusedLAMB's behaviour).
///
///     c = max(1, ‖g‖_global / max_grad_norm)          (1 when max_grad_norm is None)
///     ĝ_t = g_t / c
///     m_t = lerp(m_{t-1}, ĝ_t, 1 − β₁) (grad_averaging)  or  β₁ m_{t-1} + ĝ_t
///     v_t = β₂ v_{t-1} + (1 − β₂) ĝ_t²
///     u_t = (m_t / (1 − β₁ᵗ)) / (√v_t / √(1 − β₂ᵗ) + ε)      (no bias correction: 1s)
///     decoupled_decay: θ ← θ − s λ θ (s = γ, or γ²/γ₀ with corrected_weight_decay);
///     else u_t ← u_t + λθ
///     r = ‖θ‖/‖u_t‖ (1 if either is 0), r ← min(r, 1) with trust_clip; applied when λ ≠ 0
///     or always_adapt
///     θ_t = θ − γ r u_t
///
/// Source: timm/optim/lamb.py (`_single_tensor_lamb`); You et al., ICLR 2020; NVIDIA apex
/// FusedLAMB. The step count t is per param group, as in timm. Deviation: timm clips by
/// the norm of all groups' gradients; Stepwise steps one group per call and clips by the
/// group's own gradients (the same with one group, the usual case). timm's `caution` is not
/// offered.
final class LAMB: OptimizerAlgorithm {
    enum Key: Int {
        case lr, biasCorrection, betas, eps, weightDecay, gradAveraging, maxGradNorm, trustClip, alwaysAdapt
        case decoupledDecay, correctedWeightDecay
    }
    enum S: Int { case expAvg, expAvgSq }

    static let typeName = "LAMB"
    static let summary = "LAMB: Adam with layer-wise trust ratios (timm / apex FusedLAMB)"
    static let reference = "timm.optim.Lamb (timm/optim/lamb.py); You et al., ICLR 2020; NVIDIA apex FusedLAMB"
    static let hyperparams: [Hyperparam] = [
        Common.lr(1e-3),
        .bool("bias_correction", true, flags: perGroup, doc: "divide the moments by 1 − βᵗ"),
        Common.betas(0.9, 0.999), Common.eps(1e-6), Common.weightDecay(0.01, doc: "weight decay λ"),
        .bool("grad_averaging", true, flags: perGroup, doc: "scale the gradient by 1 − β₁ in the first moment"),
        .float("max_grad_norm", 1.0, min: 0, minExclusive: true, flags: UInt32(STEPWISE_HP_NULLABLE),
               label: "max_grad_norm value",
               doc: "clip the global gradient norm to this before the update; None disables"),
        .bool("trust_clip", false, flags: perGroup, doc: "LAMBC: clamp the trust ratio at 1"),
        .bool("always_adapt", false, flags: perGroup, doc: "apply the trust ratio even without weight decay"),
        .bool("decoupled_decay", false, flags: perGroup, doc: "decay the weights directly instead of through the update"),
        .bool("corrected_weight_decay", false, flags: perGroup,
              doc: "with decoupled_decay, scale the decay by γ²/γ₀ (γ₀ the optimizer's lr)"),
        .noEffect("foreach"),
    ]
    static let slots = [Slot("exp_avg", doc: "first moment m"), Slot("exp_avg_sq", doc: "second moment v")]
    static let hasExtraState = true

    let host: Host
    let scratch = StepScratch<sk_lamb_args>()
    private let maxLR: Double
    private let maxGradNorm: Double?
    /// Steps taken per param group (timm keeps `group["step"]`).
    private var groupSteps: [Double] = []
    /// The update u of every element of the group being stepped, written by the moments
    /// pass for the apply pass, which then divides nothing. Scratch, not state: never saved.
    /// It only grows, so steady steps allocate nothing.
    private var updates: UnsafeMutableRawPointer?
    private var updatesCapacity = 0

    init(host: Host, defaults: Values) throws(PluginError) {
        self.host = host
        maxLR = defaults.double(Key.lr.rawValue)
        maxGradNorm = defaults.isNone(Key.maxGradNorm.rawValue) ? nil : defaults.double(Key.maxGradNorm.rawValue)
    }

    deinit { updates?.deallocate() }

    /// Where parameter `t`'s updates start in the buffer: its group offset, moved up to a
    /// 64-byte boundary (16 floats of slack per parameter): the kernel streams u only there.
    @inline(__always)
    private static func updateOffset(_ e: StepScratch<sk_lamb_args>.Entry) -> Int {
        (e.offset + 16 * e.dense + 15) & ~15
    }

    /// Room for `count` floats of updates, 64-byte aligned.
    private func updateBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        if let updates, updatesCapacity >= count { return updates.assumingMemoryBound(to: Float.self) }
        updates?.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * 4, alignment: 64)
        updates = raw
        updatesCapacity = count
        return raw.bindMemory(to: Float.self, capacity: max(count, 16))
    }

    func step(_ group: Group, closure: UnsafePointer<stepwise_closure>?) throws(PluginError) -> StepOutcome {
        let v = group.values
        while groupSteps.count <= group.index { groupSteps.append(0) }
        groupSteps[group.index] += 1
        scratch.plan(group, threads: host.threadCount)
        guard scratch.total > 0 else { return StepOutcome(STEPWISE_SKIPPED) }
        let clip = maxGradNorm.map { gradientClip(group, $0) } ?? 1

        let lr = v.double(Key.lr.rawValue), wd = v.double(Key.weightDecay.rawValue)
        let decoupled = v.bool(Key.decoupledDecay.rawValue)
        let wdScale = decoupled && v.bool(Key.correctedWeightDecay.rawValue) ? lr * lr / maxLR : lr
        var base = sk_lamb_args()
        sk_lamb_prepare(lr, v.element(Key.betas.rawValue, 0), v.element(Key.betas.rawValue, 1), v.double(Key.eps.rawValue),
                        wd, v.bool(Key.biasCorrection.rawValue), v.bool(Key.gradAveraging.rawValue), decoupled,
                        wdScale, groupSteps[group.index], clip, &base)
        let adapt = wd != 0 || v.bool(Key.alwaysAdapt.rawValue)
        base.apply = !adapt
        scratch.args.removeAll(keepingCapacity: true)
        scratch.args.append(base)
        scratch.resetPartials(width: 2)
        // u of parameter t sits at its offset in the group's element space.
        let u: UnsafeMutablePointer<Float>? = adapt ? updateBuffer(scratch.total + 16 * scratch.stepped + 16) : nil
        scratch.partials.withUnsafeMutableBufferPointer { partials in
            guard let sums = partials.baseAddress else { return }
            scratch.entries.withUnsafeBufferPointer { entries in
                scratch.run(host: host) { t, _, lo, hi, slot in
                    let p = group[t]
                    guard let g = p.grad, let m = p.tensor(S.expAvg.rawValue), let s = p.tensor(S.expAvgSq.rawValue) else { return }
                    withUnsafePointer(to: base) { a in
                        sk_lamb_moments(p.data + lo, g + lo, m + lo, s + lo, u.map { $0 + Self.updateOffset(entries[t]) + lo },
                                        Int64(hi - lo), a, sums + 2 * slot)
                    }
                }
            }
        }
        guard adapt, let u else { return .stepped }

        let trustClip = v.bool(Key.trustClip.rawValue)
        scratch.args.removeAll(keepingCapacity: true)
        for t in 0..<group.count where group[t].hasGrad {
            var a = base
            a.trust = sk_lamb_trust_ratio(Float(scratch.reduce(t, component: 0, width: 2).squareRoot()),
                                          Float(scratch.reduce(t, component: 1, width: 2).squareRoot()), trustClip)
            scratch.args.append(a)
        }
        scratch.args.withUnsafeBufferPointer { args in
            guard let first = args.baseAddress else { return }
            scratch.entries.withUnsafeBufferPointer { entries in
                scratch.run(host: host) { t, dense, lo, hi, _ in
                    sk_lamb_apply(group[t].data + lo, u + Self.updateOffset(entries[t]) + lo, Int64(hi - lo),
                                  first + dense)
                }
            }
        }
        return .stepped
    }

    /// timm's clip factor: the float32 norm of the per-tensor gradient norms over the
    /// maximum, at least 1.
    private func gradientClip(_ group: Group, _ maxNorm: Double) -> Float {
        scratch.resetPartials(width: 1)
        scratch.partials.withUnsafeMutableBufferPointer { partials in
            guard let sums = partials.baseAddress else { return }
            scratch.run(host: host) { t, _, lo, hi, slot in
                guard let g = group[t].grad else { return }
                // Two streams (the piece's halves) keep more reads in flight than one: a
                // core streams a lone read-only buffer at ~2/3 of its triad bandwidth.
                let half = (hi - lo) / 32 * 16
                var two = (0.0, 0.0)
                withUnsafeMutableBytes(of: &two) { out in
                    sk_sumsq2(g + lo, g + lo + half, Int64(half), out.baseAddress?.assumingMemoryBound(to: Double.self))
                }
                sums[slot] = two.0 + two.1 + sk_sumsq(g + lo + 2 * half, Int64(hi - lo - 2 * half))
            }
        }
        var total = 0.0
        for t in 0..<group.count where group[t].hasGrad {
            let norm = Float(scratch.reduce(t).squareRoot())
            total += Double(norm) * Double(norm)
        }
        let ratio = Float(total.squareRoot()) / Float(maxNorm)
        return max(ratio, 1)
    }

    func saveState(_ writer: StateWriter) throws(PluginError) { try writer.doubles(groupSteps) }

    func loadState(_ reader: StateReader) throws(PluginError) {
        let steps = try reader.doubles(limit: 1 << 16)
        try reader.expectEnd()
        guard steps.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) else { throw .badState("LAMB state holds invalid step counts") }
        groupSteps = steps
    }
}
