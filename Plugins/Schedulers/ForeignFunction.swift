import CFFI
import Foundation
import StepwiseABI
import StepwiseKit

// A scalar C function from a user's shared library, called through libffi with the step
// first and the remaining arguments bound from the config:
//
//     lr_lambda = dict(symbol='libmine.so:warmup_cosine',
//                      signature='double(int64,int64,double)', args=[500, 0.01])
//
// calls `warmup_cosine(step, 500, 0.01)`. Types: double, float, int64, int32 (and their
// C spellings int64_t, int32_t, int, long).

/// A C scalar type libffi can pass.
enum ForeignType {
    case double, float, int64, int32

    init?(_ name: String) {
        switch name.trimmingCharacters(in: .whitespaces) {
        case "double": self = .double
        case "float": self = .float
        case "int64", "int64_t", "long", "long long": self = .int64
        case "int32", "int32_t", "int": self = .int32
        default: return nil
        }
    }

    /// libffi describes primitives by size, alignment and type code; these descriptors
    /// equal libffi's own `ffi_type_double` etc., which Swift 6 cannot read as globals.
    var descriptor: ffi_type {
        switch self {
        case .double: ffi_type(size: 8, alignment: 8, type: UInt16(FFI_TYPE_DOUBLE), elements: nil)
        case .float: ffi_type(size: 4, alignment: 4, type: UInt16(FFI_TYPE_FLOAT), elements: nil)
        case .int64: ffi_type(size: 8, alignment: 8, type: UInt16(FFI_TYPE_SINT64), elements: nil)
        case .int32: ffi_type(size: 4, alignment: 4, type: UInt16(FFI_TYPE_SINT32), elements: nil)
        }
    }

    var isInteger: Bool { self == .int64 || self == .int32 }
}

/// One resolved function with its bound arguments. Owns the libffi call interface and
/// argument storage; a call allocates nothing.
final class ForeignFunction {
    let name: String
    private let result: ForeignType
    private let params: [ForeignType]
    private let function: UnsafeMutableRawPointer
    private let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
    private let types: UnsafeMutablePointer<ffi_type>
    private let typePointers: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    private let resultType = UnsafeMutablePointer<ffi_type>.allocate(capacity: 1)
    /// One 8-byte cell per parameter, the bound ones filled once.
    private let cells: UnsafeMutablePointer<UInt64>
    private let cellPointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>

    /// Parses `{symbol, signature, args}` and resolves the symbol.
    init(spec: Any, owner: String) throws(PluginError) {
        guard let dict = spec as? [String: Any] else {
            throw .invalid("\(owner): lr_lambda must be {symbol: \"lib.so:function\", signature: \"double(int64)\", "
                           + "args: [...]}")
        }
        guard let symbol = dict["symbol"] as? String, let colon = symbol.lastIndex(of: ":") else {
            throw .invalid("\(owner): lr_lambda.symbol must read \"path/to/lib.so:function\"")
        }
        let library = String(symbol[..<colon]), functionName = String(symbol[symbol.index(after: colon)...])
        name = symbol
        guard let signature = dict["signature"] as? String, let open = signature.firstIndex(of: "("),
              signature.hasSuffix(")"), let ret = ForeignType(String(signature[..<open])) else {
            throw .invalid("\(owner): lr_lambda.signature must read like \"double(int64,double)\" "
                           + "(types: double, float, int64, int32)")
        }
        let inner = signature[signature.index(after: open)..<signature.index(before: signature.endIndex)]
        var parsed: [ForeignType] = []
        for part in inner.split(separator: ",") {
            guard let t = ForeignType(String(part)) else {
                throw .invalid("\(owner): unknown type '\(part)' in lr_lambda.signature \"\(signature)\"")
            }
            parsed.append(t)
        }
        let args = (dict["args"] as? [Any]) ?? []
        guard let first = parsed.first, first.isInteger else {
            throw .invalid("\(owner): the first parameter of \(signature) must be an integer type: it receives the step")
        }
        guard parsed.count == args.count + 1 else {
            throw .invalid("\(owner): \(signature) takes \(parsed.count) parameters: the step and \(parsed.count - 1) "
                           + "bound arguments, but args has \(args.count)")
        }
        guard !ret.isInteger else { throw .invalid("\(owner): lr_lambda must return double or float, not \(ret)") }
        result = ret
        params = parsed
        function = try Self.resolve(library: library, function: functionName, owner: owner)

        types = .allocate(capacity: parsed.count)
        typePointers = .allocate(capacity: parsed.count)
        cells = .allocate(capacity: parsed.count)
        cellPointers = .allocate(capacity: parsed.count)
        for (i, t) in parsed.enumerated() {
            (types + i).initialize(to: t.descriptor)
            typePointers[i] = types + i
            cells[i] = 0
            cellPointers[i] = UnsafeMutableRawPointer(cells + i)
        }
        for (i, arg) in args.enumerated() {
            try Self.store(arg, as: parsed[i + 1], into: UnsafeMutableRawPointer(cells + i + 1),
                           what: "\(owner): lr_lambda.args[\(i)]")
        }
        resultType.initialize(to: ret.descriptor)
        let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(parsed.count), resultType, typePointers)
        guard status == FFI_OK else { throw .invalid("\(owner): libffi cannot call \(signature) (status \(status))") }
    }

    deinit {
        cif.deallocate(); types.deallocate(); typePointers.deallocate(); resultType.deallocate()
        cells.deallocate(); cellPointers.deallocate()
    }

    private static func resolve(library: String, function: String, owner: String) throws(PluginError)
        -> UnsafeMutableRawPointer {
        // A bare file name is looked up by the dynamic loader; also try the working folder.
        var handle = dlopen(library, RTLD_NOW | RTLD_LOCAL)
        if handle == nil && !library.contains("/") { handle = dlopen("./" + library, RTLD_NOW | RTLD_LOCAL) }
        guard let handle else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw .invalid("\(owner): cannot open \(library) for lr_lambda: \(reason)")
        }
        guard let sym = dlsym(handle, function) else {
            throw .invalid("\(owner): \(library) has no function named \(function)")
        }
        return sym
    }

    private static func store(_ value: Any, as type: ForeignType, into cell: UnsafeMutableRawPointer,
                              what: String) throws(PluginError) {
        guard !(value is Bool), let number = value as? NSNumber else {
            throw .invalid("\(what) must be a number, got \(value)")
        }
        let d = number.doubleValue
        switch type {
        case .double: cell.storeBytes(of: d, as: Double.self)
        case .float: cell.storeBytes(of: Float(d), as: Float.self)
        case .int64, .int32:
            guard d == d.rounded(), abs(d) < 9.2e18 else { throw .invalid("\(what) must be an integer, got \(value)") }
            if type == .int64 { cell.storeBytes(of: Int64(d), as: Int64.self) }
            else { cell.storeBytes(of: Int32(clamping: Int64(d)), as: Int32.self) }
        }
    }

    /// Calls the function with `step` first.
    func callAsFunction(_ step: Int) -> Double {
        let first = UnsafeMutableRawPointer(cells)
        if params[0] == .int64 { first.storeBytes(of: Int64(step), as: Int64.self) }
        else { first.storeBytes(of: Int32(clamping: step), as: Int32.self) }
        var out: UInt64 = 0
        withUnsafeMutableBytes(of: &out) { buffer in
            ffi_call(cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), buffer.baseAddress, cellPointers)
        }
        return result == .double ? Double(bitPattern: out) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: out)))
    }

    /// Reads `lr_lambda`: one function for every group, or a list with one per group.
    static func parse(json: String, groups: Int, owner: String) throws(PluginError) -> [ForeignFunction] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        } catch {
            throw .invalid("\(owner): lr_lambda is not valid JSON: \(error)")
        }
        if let list = object as? [Any] {
            guard list.count == groups else {
                throw .invalid("\(owner): expected \(groups) lr_lambdas, but got \(list.count)")
            }
            var out: [ForeignFunction] = []
            for item in list { out.append(try ForeignFunction(spec: item, owner: owner)) }
            return out
        }
        let one = try ForeignFunction(spec: object, owner: owner)
        return Array(repeating: one, count: groups)
    }
}

/// `b * f(t)`.
struct TorchLambdaLR: TorchRule {
    static let name = "LambdaLR"
    static let summary = "Set the lr to the base lr times a C function of the step"
    static let hyperparams: [Hyperparam] = [
        Hyperparam("lr_lambda", STEPWISE_TYPE_JSON, default: .none, flags: HP.required,
                   doc: "{symbol: 'lib.so:fn', signature: 'double(int64,...)', args: [...]}, or one per group"),
    ]
    let functions: [ForeignFunction]
    init(values: Values, setup: ScheduleSetup) throws(PluginError) {
        functions = try ForeignFunction.parse(json: values.string(0), groups: setup.groupCount, owner: Self.name)
    }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { tick.base($0) * functions[$0](c.lastEpoch) }
    }
}

/// `v * f(t)` after the initial step.
struct TorchMultiplicativeLR: TorchRule {
    static let name = "MultiplicativeLR"
    static let summary = "Multiply the lr by a C function of the step at every step"
    static let hyperparams: [Hyperparam] = TorchLambdaLR.hyperparams
    let functions: [ForeignFunction]
    init(values: Values, setup: ScheduleSetup) throws(PluginError) {
        functions = try ForeignFunction.parse(json: values.string(0), groups: setup.groupCount, owner: Self.name)
    }
    func lr(_ c: TorchCounters, _ tick: Tick) -> [Double] {
        (0..<tick.groupCount).map { c.isInitial ? tick.value($0) : tick.value($0) * functions[$0](c.lastEpoch) }
    }
}
