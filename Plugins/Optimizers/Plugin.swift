import StepwiseABI
import StepwiseKit

/// One component descriptor per optimizer type (the C ABI's `check` and `create` carry no
/// component identity, hence the two thunks naming the type).
private func component<T: OptimizerAlgorithm>(_ type: T.Type, check: CheckThunk, create: OptimizerCreateThunk)
    -> UnsafePointer<stepwise_component> {
    OptimizerExport.component(type, check: check, create: create)
}

/// Every optimizer this plugin provides, built once into static descriptors.
nonisolated(unsafe) let descriptor: UnsafePointer<stepwise_plugin> = Descriptors.plugin(
    id: "stepwise", name: "Stepwise optimizers", version: "0.1.0", vendor: "Stepwise",
    description: "torch.optim's optimizers plus LARS, LAMB and Lion",
    components: [
        component(SGD.self, check: { OptimizerExport.check(SGD.self, $0, $1, $2) },
                  create: { OptimizerExport.create(SGD.self, $0, $1, $2, $3) }),
        component(Adam.self, check: { OptimizerExport.check(Adam.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Adam.self, $0, $1, $2, $3) }),
        component(AdamW.self, check: { OptimizerExport.check(AdamW.self, $0, $1, $2) },
                  create: { OptimizerExport.create(AdamW.self, $0, $1, $2, $3) }),
        component(Adamax.self, check: { OptimizerExport.check(Adamax.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Adamax.self, $0, $1, $2, $3) }),
        component(NAdam.self, check: { OptimizerExport.check(NAdam.self, $0, $1, $2) },
                  create: { OptimizerExport.create(NAdam.self, $0, $1, $2, $3) }),
        component(RAdam.self, check: { OptimizerExport.check(RAdam.self, $0, $1, $2) },
                  create: { OptimizerExport.create(RAdam.self, $0, $1, $2, $3) }),
        component(Adagrad.self, check: { OptimizerExport.check(Adagrad.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Adagrad.self, $0, $1, $2, $3) }),
        component(Adadelta.self, check: { OptimizerExport.check(Adadelta.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Adadelta.self, $0, $1, $2, $3) }),
        component(RMSprop.self, check: { OptimizerExport.check(RMSprop.self, $0, $1, $2) },
                  create: { OptimizerExport.create(RMSprop.self, $0, $1, $2, $3) }),
        component(Rprop.self, check: { OptimizerExport.check(Rprop.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Rprop.self, $0, $1, $2, $3) }),
        component(ASGD.self, check: { OptimizerExport.check(ASGD.self, $0, $1, $2) },
                  create: { OptimizerExport.create(ASGD.self, $0, $1, $2, $3) }),
        component(Adafactor.self, check: { OptimizerExport.check(Adafactor.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Adafactor.self, $0, $1, $2, $3) }),
        component(LBFGS.self, check: { OptimizerExport.check(LBFGS.self, $0, $1, $2) },
                  create: { OptimizerExport.create(LBFGS.self, $0, $1, $2, $3) }),
        component(LARS.self, check: { OptimizerExport.check(LARS.self, $0, $1, $2) },
                  create: { OptimizerExport.create(LARS.self, $0, $1, $2, $3) }),
        component(LAMB.self, check: { OptimizerExport.check(LAMB.self, $0, $1, $2) },
                  create: { OptimizerExport.create(LAMB.self, $0, $1, $2, $3) }),
        component(Lion.self, check: { OptimizerExport.check(Lion.self, $0, $1, $2) },
                  create: { OptimizerExport.create(Lion.self, $0, $1, $2, $3) }),
    ])

@_cdecl("stepwise_plugin_entry")
public func stepwisePluginEntry(_ host: UnsafePointer<stepwise_host>?) -> UnsafePointer<stepwise_plugin>? {
    descriptor
}
