import StepwiseABI
import StepwiseKit

nonisolated(unsafe) let descriptor: UnsafePointer<stepwise_plugin> = Descriptors.plugin(
    id: "stepwise", name: "Stepwise schedulers", version: "0.1.0", vendor: "Stepwise",
    description: "MMEngine, torch, MMCV and MindSpore parameter schedulers",
    components: [])

@_cdecl("stepwise_plugin_entry")
public func stepwisePluginEntry(_ host: UnsafePointer<stepwise_host>?) -> UnsafePointer<stepwise_plugin>? {
    descriptor
}
