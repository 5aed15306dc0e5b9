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
