import StepwiseABI

/// What every plugin algorithm can do with its opaque state (optimizer extra state,
/// scheduler counters, a loss scaler, a hook's averages).
public protocol StatefulAlgorithm: AnyObject {
    func saveState(_ writer: StateWriter) throws(PluginError)
    func loadState(_ reader: StateReader) throws(PluginError)
}

/// What every kind of component declares for the host (its descriptor) and may check.
public protocol ComponentAlgorithm: StatefulAlgorithm {
    static var typeName: String { get }
    static var summary: String { get }
    /// The exact algorithm, with its source (paper, reference implementation).
    static var reference: String { get }
    static var hyperparams: [Hyperparam] { get }
    /// Cross-key validation beyond schema ranges (for optimizers: defaults and every
    /// group), run by the ABI's `check` before any instance exists.
    static func check(_ values: Values) throws(PluginError)
}

extension ComponentAlgorithm {
    public static func check(_ values: Values) throws(PluginError) {}
}

/// The export glue every kind shares. The C ABI's `check` carries no component identity,
/// so each component passes a one-line thunk naming its type, e.g.
/// `{ OptimizerExport.check(Adam.self, $0, $1, $2) }`.
public protocol ExportGlue {}

extension ExportGlue {
    @inlinable
    public static func check<T: ComponentAlgorithm>(
        _: T.Type, _ host: UnsafePointer<stepwise_host>?, _ values: UnsafePointer<stepwise_values>?,
        _ error: UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status {
        abiCall(Host(host!), error) { () throws(PluginError) in
            try T.check(Values(values!))
            return STEPWISE_OK
        }
    }
}

/// An instance behind the ABI's `void *`: the algorithm and the host it was created with.
/// Each kind subclasses it to keep its algorithm typed (no casts on the hot path); what
/// every kind shares — destroy, save_state, load_state — is written once here.
@usableFromInline
class InstanceBox {
    @usableFromInline let host: Host
    @usableFromInline let stateful: any StatefulAlgorithm

    @usableFromInline init(host: Host, stateful: any StatefulAlgorithm) {
        self.host = host
        self.stateful = stateful
    }

    @usableFromInline typealias SaveThunk = @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<stepwise_ostream>?, UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status
    @usableFromInline typealias LoadThunk = @convention(c) (
        UnsafeMutableRawPointer?, UnsafePointer<stepwise_istream>?, UnsafeMutablePointer<OpaquePointer?>?
    ) -> stepwise_status

    /// The ABI's `destroy`: releases the box `create` retained.
    @usableFromInline static let destroy: @convention(c) (UnsafeMutableRawPointer?) -> Void = { p in
        Unmanaged<InstanceBox>.fromOpaque(p!).release()
    }

    @usableFromInline static let saveState: SaveThunk = { p, stream, error in
        let box = Unmanaged<InstanceBox>.fromOpaque(p!).takeUnretainedValue()
        return abiCall(box.host, error) { () throws(PluginError) in
            try box.stateful.saveState(StateWriter(stream!))
            return STEPWISE_OK
        }
    }

    @usableFromInline static let loadState: LoadThunk = { p, stream, error in
        let box = Unmanaged<InstanceBox>.fromOpaque(p!).takeUnretainedValue()
        return abiCall(box.host, error) { () throws(PluginError) in
            try box.stateful.loadState(StateReader(stream!))
            return STEPWISE_OK
        }
    }
}
