import StepwiseABI
import StepwiseKit

/// Every optimizer this plugin provides, built once into static descriptors.
nonisolated(unsafe) let descriptor: UnsafePointer<stepwise_plugin> = Descriptors.plugin(
    id: "stepwise", name: "Stepwise optimizers", version: "0.1.0", vendor: "Stepwise",
    description: "torch.optim's optimizers plus LARS, LAMB and Lion",
    components: [
        OptimizerExport.component(SGD.self, check: { OptimizerExport.check(SGD.self, $0, $1, $2) },
                                  create: { OptimizerExport.create(SGD.self, $0, $1, $2, $3) }),
    ])

@_cdecl("stepwise_plugin_entry")
public func stepwisePluginEntry(_ host: UnsafePointer<stepwise_host>?) -> UnsafePointer<stepwise_plugin>? {
    descriptor
}
