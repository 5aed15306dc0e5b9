import StepwiseABI

/// Writes a plugin's opaque state through the host's stream, little-endian.
public struct StateWriter {
    let stream: UnsafePointer<stepwise_ostream>

    public init(_ stream: UnsafePointer<stepwise_ostream>) { self.stream = stream }

    public func bytes(_ buffer: UnsafeRawBufferPointer) throws(PluginError) {
        var offset = 0
        while offset < buffer.count {
            let n = stream.pointee.write?(stream, buffer.baseAddress! + offset, UInt64(buffer.count - offset)) ?? -1
            guard n > 0 else { throw PluginError(STEPWISE_IO_ERROR, "state stream refused to write") }
            offset += Int(n)
        }
    }

    public func scalar<T: FixedWidthInteger>(_ v: T) throws(PluginError) {
        var le = v.littleEndian
        try withUnsafeBytes(of: &le) { (b) throws(PluginError) in try bytes(b) }
    }
    public func double(_ v: Double) throws(PluginError) { try scalar(v.bitPattern) }
    public func float(_ v: Float) throws(PluginError) { try scalar(v.bitPattern) }
    public func doubles(_ vs: [Double]) throws(PluginError) {
        try scalar(UInt64(vs.count))
        for v in vs { try double(v) }
    }
    public func string(_ s: String) throws(PluginError) {
        let utf8 = Array(s.utf8)
        try scalar(UInt64(utf8.count))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: utf8.count, alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: utf8)
        try bytes(UnsafeRawBufferPointer(buffer))
    }
    public func floats(_ vs: UnsafeBufferPointer<Float>) throws(PluginError) {
        try scalar(UInt64(vs.count))
        for v in vs { try float(v) }
    }
}

/// Reads state written by StateWriter. The host may hand bytes over in chunks of any
/// size; every read loops. Lengths are checked against `limit` before anything is
/// allocated, so garbage input cannot ask for a huge buffer.
public struct StateReader {
    let stream: UnsafePointer<stepwise_istream>

    public init(_ stream: UnsafePointer<stepwise_istream>) { self.stream = stream }

    public func bytes(_ buffer: UnsafeMutableRawBufferPointer) throws(PluginError) {
        var offset = 0
        while offset < buffer.count {
            let n = stream.pointee.read?(stream, buffer.baseAddress! + offset, UInt64(buffer.count - offset)) ?? -1
            guard n > 0 else { throw PluginError.badState("state is truncated") }
            offset += Int(n)
        }
    }

    public func scalar<T: FixedWidthInteger>(_: T.Type = T.self) throws(PluginError) -> T {
        var v: T = 0
        try withUnsafeMutableBytes(of: &v) { (b) throws(PluginError) in try bytes(b) }
        return T(littleEndian: v)
    }
    public func double() throws(PluginError) -> Double { Double(bitPattern: try scalar(UInt64.self)) }
    public func float() throws(PluginError) -> Float { Float(bitPattern: try scalar(UInt32.self)) }
    public func count(limit: Int) throws(PluginError) -> Int {
        let n = try scalar(UInt64.self)
        guard n <= UInt64(limit) else { throw .badState("state declares \(n) elements; at most \(limit) fit") }
        return Int(n)
    }
    public func doubles(limit: Int) throws(PluginError) -> [Double] {
        let n = try count(limit: limit)
        var out: [Double] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try double()) }
        return out
    }
    public func string(limit: Int) throws(PluginError) -> String {
        let n = try count(limit: limit)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: n, alignment: 1)
        defer { buffer.deallocate() }
        try bytes(buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
    /// Fails unless the stream is exhausted: trailing bytes mean the state is not ours.
    public func expectEnd() throws(PluginError) {
        var byte: UInt8 = 0
        let n = withUnsafeMutableBytes(of: &byte) { stream.pointee.read?(stream, $0.baseAddress!, 1) ?? -1 }
        guard n == 0 else { throw .badState("state has trailing bytes") }
    }
}
