import StepwiseABI
import StepwiseKit

nonisolated(unsafe) let descriptor: UnsafePointer<stepwise_plugin> = Descriptors.plugin(
    id: "stepwise", name: "Stepwise hooks", version: "0.1.0", vendor: "Stepwise",
    description: "Training-loop hooks: logging, checkpoints, EMA, early stopping",
    components: [
        HookExport.component(LoggerHook.self, check: { HookExport.check(LoggerHook.self, $0, $1, $2) },
                             create: { HookExport.create(LoggerHook.self, $0, $1, $2, $3) }),
        HookExport.component(CheckpointHook.self, check: { HookExport.check(CheckpointHook.self, $0, $1, $2) },
                             create: { HookExport.create(CheckpointHook.self, $0, $1, $2, $3) }),
        HookExport.component(EMAHook.self, check: { HookExport.check(EMAHook.self, $0, $1, $2) },
                             create: { HookExport.create(EMAHook.self, $0, $1, $2, $3) }),
        HookExport.component(EarlyStoppingHook.self, check: { HookExport.check(EarlyStoppingHook.self, $0, $1, $2) },
                             create: { HookExport.create(EarlyStoppingHook.self, $0, $1, $2, $3) }),
    ])

@_cdecl("stepwise_plugin_entry")
public func stepwisePluginEntry(_ host: UnsafePointer<stepwise_host>?) -> UnsafePointer<stepwise_plugin>? {
    descriptor
}
