// Stepwise wrappers plugin (libStepwisePluginWrappers.so).
//
// "How to step", kept apart from "what algorithm": MMEngine's optimizer wrappers as
// components of the wrapper ABI (`sdk/include/stepwise/wrapper.h`), around any optimizer.
// The host's Swift API over them is `Sources/Stepwise/Wrap/` (`OptimWrapper`,
// `OptimWrapperDict`, `AnyOptimWrapper`, paramwise settings, the precision context).
//
// | type | keys | reference |
// |---|---|---|
// | `OptimWrapper` | `accumulative_counts`, `clip_grad`, `nonfinite` | mmengine 0.10.7 `OptimWrapper` |
// | `AmpOptimWrapper` | `accumulative_counts`, `clip_grad`, `loss_scale`, `dtype`, `use_fsdp` | mmengine 0.10.7 `AmpOptimWrapper`, torch `GradScaler` |
//
// ```yaml
// optim_wrapper:
//   type: AmpOptimWrapper
//   dtype: bfloat16                 # float16, bfloat16, float32; None: bfloat16 (torch's CPU autocast)
//   loss_scale: dynamic             # or 512.0 (static), or {init_scale, growth_factor, backoff_factor, growth_interval, enabled}
//   accumulative_counts: 2
//   clip_grad: {max_norm: 1.0, norm_type: 2}   # or {type: value, clip_value: 0.5}; norm_type 'inf' works
//   optimizer: {type: AdamW, lr: 1.0e-3, weight_decay: 0.05}
//   paramwise_cfg: {norm_decay_mult: 0.0, bias_decay_mult: 0.0, custom_keys: {backbone: {lr_mult: 0.1}}}
// ```
//
// Semantics, exactly as the references:
// - Accumulation: the loss of iteration `i` is divided by `accumulative_counts`, except in
//   the last, short window of a run of known length (`initializeCountStatus`), where it is
//   divided by that window's real length; the optimizer steps at the end of each window.
// - Clipping: `clip_grad_norm_` (the total norm is the p-norm of the per-tensor float32
//   norms; coefficient `max_norm * (1 / (norm + 1e-6))` in float32, clamped to 1) or
//   `clip_grad_value_`. The norm before clipping is reported for logging.
// - Loss scaling: the scale is a float32; unscaling multiplies by `float32(1 / scale)` and
//   detects NaN/infinity before the multiply; a step with a non-finite gradient is skipped
//   and the scale multiplied by `backoff_factor`; after `growth_interval` clean steps it is
//   multiplied by `growth_factor` (kept only if finite). A static scale never changes.
//   Clipping happens after unscaling, also on overflow steps (which are then skipped).
//   The scaler state (scale, factors, interval, growth tracker) is saved and loaded.
//
// ## Non-finite gradients on the plain `OptimWrapper`: `nonfinite`
//
// MMEngine's `OptimWrapper` steps whatever the gradients hold (only `AmpOptimWrapper`'s
// scaler skips steps), so a NaN gradient silently turns the parameters into NaN. Stepwise
// keeps MMEngine's numerics by default but never applies one silently:
//
// - `warn` (**default**): check every window's gradients (one extra read pass), step as
//   MMEngine does, log a warning naming the iteration (the first three, then at powers of
//   two) and report it in the step result (`foundNonFinite`, `nonFiniteSteps`).
// - `skip`: skip the optimizer step when a gradient (or a loss of the window) is NaN or
//   infinite; the gradients are zeroed as usual and the skip is reported and logged.
// - `error`: stop with an error naming the fix.
// - `ignore`: no check at all (MMEngine exactly, one pass less).
//
// Why `warn` and not `skip`: MMEngine users expect a plain OptimWrapper to behave like
// `optimizer.step()`, and a run that diverges to diverge the same way (their loss curves,
// resumes and comparisons with PyTorch depend on it); silently skipping would hide a real
// bug (a bad learning rate, a broken loss) behind a run that seems to train. `warn` changes
// nothing numerically and makes the moment visible; `skip` is one key away for runs that
// want loss-scaler-like robustness without a loss scale.
//
// ## Deviations, argued
//
// - `loss_scale: 512` (an int) is accepted as a static scale; MMEngine requires a float.
// - `paramwise_cfg` with unknown keys is refused with a suggestion (MMEngine ignores them),
//   so a typo such as `norm_decay_mul` cannot go unnoticed.
// - MMEngine builds one param group per parameter under `paramwise_cfg`; Stepwise merges
//   parameters with identical settings into one group (first-appearance order). Every
//   parameter gets the same hyperparameters and every per-parameter optimizer steps
//   identically (tested), in one ABI call per distinct setting instead of one per tensor.
//   `get_lr()` lists one entry per merged group.
// - `dcn_offset_lr_mult` is accepted and has no effect (no deformable-conv tag exists).
// - MindSpore's `grad_centralization` is applied to the gradients after the wrapper's
//   unscale and clip and before the optimizer; MindSpore centralizes after adding weight
//   decay to the gradient. Same for optimizers with decoupled or zero weight decay.

import StepwiseABI
import StepwiseKit

/// Every wrapper this plugin provides, built once into static descriptors.
nonisolated(unsafe) let descriptor: UnsafePointer<stepwise_plugin> = Descriptors.plugin(
    id: "stepwise", name: "Stepwise optimizer wrappers", version: "0.1.0", vendor: "Stepwise",
    description: "MMEngine's OptimWrapper and AmpOptimWrapper: accumulation, clipping, loss scaling",
    components: [
        WrapperExport.component(PlainOptimWrapper.self,
                                check: { WrapperExport.check(PlainOptimWrapper.self, $0, $1, $2) },
                                create: { WrapperExport.create(PlainOptimWrapper.self, $0, $1, $2, $3, $4) }),
        WrapperExport.component(AmpOptimWrapper.self,
                                check: { WrapperExport.check(AmpOptimWrapper.self, $0, $1, $2) },
                                create: { WrapperExport.create(AmpOptimWrapper.self, $0, $1, $2, $3, $4) }),
    ])

@_cdecl("stepwise_plugin_entry")
public func stepwisePluginEntry(_ host: UnsafePointer<stepwise_host>?) -> UnsafePointer<stepwise_plugin>? {
    descriptor
}
