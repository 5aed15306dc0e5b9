import StepwiseABI
import StepwiseKit

/// What torch's LBFGS keeps between steps (its `state` of the first parameter), saved as
/// the plugin's opaque extra state.
struct LBFGSState {
    var funcEvals = 0
    var nIter = 0
    var d: [Float]? = nil
    var t: Num? = nil
    var oldDirs: [[Float]] = []
    var oldStps: [[Float]] = []
    var ro: [Num] = []
    var hDiag: Num = .py(1)
    var prevFlatGrad: [Float]? = nil
    var prevLoss: Num? = nil

    /// Refuses state saved for a different number of parameter elements.
    func checkSize(_ n: Int) throws(PluginError) {
        let sizes = [d?.count, prevFlatGrad?.count] + oldDirs.map(\.count) + oldStps.map(\.count)
        for case let size? in sizes where size != n {
            throw .badState("LBFGS state holds vectors of \(size) elements, but the param group has \(n)")
        }
    }

    /// Stores the newest curvature pair and returns the L-BFGS direction −H·g (the
    /// two-loop recursion), as torch's `step` does from its second iteration on.
    mutating func update(_ flatGrad: [Float], historySize: Int) -> [Float] {
        guard let prev = prevFlatGrad, let d, let t else { return FlatMath.negated(flatGrad) }
        let y = zip(flatGrad, prev).map { $0 - $1 }
        let s = FlatMath.scaled(d, t.float)
        let ys = Num.f32(FlatMath.dot(y, s))
        if ys > .py(1e-10) {
            if oldDirs.count == historySize {
                oldDirs.removeFirst(); oldStps.removeFirst(); ro.removeFirst()
            }
            oldDirs.append(y)
            oldStps.append(s)
            ro.append(.py(1) / ys)
            hDiag = ys / .f32(FlatMath.dot(y, y))
        }
        var al = [Num](repeating: .py(0), count: oldDirs.count)
        var q = FlatMath.negated(flatGrad)
        for i in stride(from: oldDirs.count - 1, through: 0, by: -1) {
            al[i] = .f32(FlatMath.dot(oldStps[i], q)) * ro[i]
            FlatMath.axpy(&q, (-al[i]).float, oldDirs[i])
        }
        var r = FlatMath.scaled(q, hDiag.float)
        for i in 0..<oldDirs.count {
            let be = Num.f32(FlatMath.dot(oldDirs[i], r)) * ro[i]
            FlatMath.axpy(&r, (al[i] - be).float, oldStps[i])
        }
        return r
    }

    // Layout (little-endian): funcEvals, nIter (u64); t, hDiag, prevLoss (tagged Num);
    // d, prevFlatGrad (optional float vectors); pair count, then each y, s and ρ.
    func save(_ w: StateWriter) throws(PluginError) {
        try w.scalar(UInt64(funcEvals))
        try w.scalar(UInt64(nIter))
        for n in [t, hDiag, prevLoss] { try Self.write(n, w) }
        for v in [d, prevFlatGrad] { try Self.write(v, w) }
        try w.scalar(UInt64(oldDirs.count))
        for i in oldDirs.indices {
            try Self.write(oldDirs[i], w)
            try Self.write(oldStps[i], w)
            try Self.write(ro[i], w)
        }
    }

    static func load(_ r: StateReader) throws(PluginError) -> LBFGSState {
        var s = LBFGSState()
        s.funcEvals = try r.count(limit: Int(Int32.max))
        s.nIter = try r.count(limit: Int(Int32.max))
        s.t = try readNum(r)
        guard let h = try readNum(r) else { throw .badState("LBFGS state has no H_diag") }
        s.hDiag = h
        s.prevLoss = try readNum(r)
        s.d = try readVector(r)
        s.prevFlatGrad = try readVector(r)
        let pairs = try r.count(limit: 1 << 20)
        for _ in 0..<pairs {
            guard let y = try readVector(r), let st = try readVector(r), let rho = try readNum(r) else {
                throw .badState("LBFGS state has an incomplete history pair")
            }
            s.oldDirs.append(y)
            s.oldStps.append(st)
            s.ro.append(rho)
        }
        if let n = s.d?.count ?? s.prevFlatGrad?.count { try s.checkSize(n) }
        return s
    }

    private static func write(_ n: Num?, _ w: StateWriter) throws(PluginError) {
        switch n {
        case nil: try w.scalar(UInt8(0))
        case .py(let x)?: try w.scalar(UInt8(1)); try w.double(x)
        case .f32(let x)?: try w.scalar(UInt8(2)); try w.float(x)
        }
    }

    private static func readNum(_ r: StateReader) throws(PluginError) -> Num? {
        switch try r.scalar(UInt8.self) {
        case 0: return nil
        case 1: return .py(try r.double())
        case 2: return .f32(try r.float())
        case let tag: throw .badState("LBFGS state has an unknown scalar tag \(tag)")
        }
    }

    private static func write(_ v: [Float]?, _ w: StateWriter) throws(PluginError) {
        guard let v else { try w.scalar(UInt8(0)); return }
        try w.scalar(UInt8(1))
        try v.withUnsafeBufferPointer { (b) throws(PluginError) in try w.floats(b) }
    }

    /// Reads in bounded chunks, so a garbage length fails at the end of the stream instead
    /// of allocating what it claims.
    private static func readVector(_ r: StateReader) throws(PluginError) -> [Float]? {
        switch try r.scalar(UInt8.self) {
        case 0: return nil
        case 1: break
        case let tag: throw .badState("LBFGS state has an unknown vector tag \(tag)")
        }
        let n = try r.count(limit: 1 << 40)
        var out: [Float] = []
        out.reserveCapacity(min(n, 1 << 16))
        for _ in 0..<n { out.append(try r.float()) }
        return out
    }
}
