/// Reading and writing the safetensors format (huggingface/safetensors), the format of
/// Stepwise checkpoints.
///
/// A file is: an 8-byte little-endian header length N; N bytes of JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional
/// `"__metadata__"` object of strings, padded with spaces to a multiple of 8; then the
/// tensors' bytes, back to back, little-endian, row-major. Files written here load with
/// `safetensors.numpy.load_file` / `safetensors.torch.load_file` and vice versa.
///
/// ```swift
/// try Safetensors.save(["fc.weight": SafetensorsTensor(shape: [2, 3], float32: w)],
///                      metadata: ["epoch": "3"], to: "ckpt/epoch_3.safetensors")
/// let archive = try Safetensors.load("ckpt/epoch_3.safetensors")
/// ```
public enum Safetensors {
    /// Writes `tensors` and `metadata` to `path` atomically: until the final rename the
    /// previous file is untouched, so a crash mid-save never loses the last checkpoint.
    /// Tensor data is streamed from each source; nothing holds the whole file in memory.
    public static func save(
        _ tensors: [String: any SafetensorsSource],
        metadata: [String: String] = [:],
        to path: String
    ) throws(SafetensorsError) {
        try save(tensors, metadata: metadata, to: path, fault: nil)
    }

    /// `save` with a test hook that stops the write like a killed process would.
    static func save(
        _ tensors: [String: any SafetensorsSource],
        metadata: [String: String],
        to path: String,
        fault: AtomicFile.Fault?
    ) throws(SafetensorsError) {
        func fail(_ name: String, _ reason: String) -> SafetensorsError {
            SafetensorsError(file: path, .invalidTensor(name: name, reason: reason))
        }
        var layout: [(name: String, dtype: SafetensorsDType, shape: [Int], byteCount: Int)] = []
        for (name, source) in tensors {
            if name == SafetensorsHeader.metadataKey {
                throw fail(name, "the name is reserved for the file's metadata")
            }
            let shape = source.shape
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail(name, "negative dimension in shape \(shape)") }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(name, "shape \(shape) is too large") }
                elements = p
            }
            guard let bytes = source.dtype.byteCount(elements: elements) else {
                throw fail(name, "\(elements) elements of \(source.dtype.rawValue) are not a whole number of bytes")
            }
            layout.append((name, source.dtype, shape, bytes))
        }
        let (header, entries) = SafetensorsHeader.encode(tensors: layout, metadata: metadata)
        guard UInt64(header.count) <= SafetensorsHeader.maxHeaderSize else {
            throw SafetensorsError(file: path, .invalidHeader(
                "the header would be \(header.count) bytes, over the 100000000-byte limit readers accept"))
        }

        do {
            try AtomicFile.write(to: path, fault: fault) { sink in
                var length = UInt64(header.count).littleEndian
                try withUnsafeBytes(of: &length) { try sink.write($0) }
                try sink.write(header)
                for entry in entries {
                    guard let source = tensors[entry.name] else { continue }
                    let start = sink.count
                    try source.writeBytes { chunk in
                        // Checked per chunk so a wrong source cannot run past its slot.
                        guard sink.count - start + chunk.count <= entry.byteCount else {
                            throw fail(entry.name, "its data is longer than \(entry.byteCount) bytes (\(entry.dtype.rawValue), shape \(entry.shape))")
                        }
                        try sink.write(chunk)
                    }
                    let written = sink.count - start
                    guard written == entry.byteCount else {
                        throw fail(entry.name, "its data has \(written) bytes but \(entry.dtype.rawValue) with shape \(entry.shape) needs \(entry.byteCount)")
                    }
                }
            }
        } catch let error as SafetensorsError {
            throw error
        } catch let error as FileWriteError {
            throw SafetensorsError(file: path, .write(error))
        } catch let death as AtomicFile.SimulatedDeath {
            throw SafetensorsError(file: path, .write(FileWriteError(
                path: path, step: "simulated crash leaving \(death.temporaryPath)", code: 0)))
        } catch {
            throw SafetensorsError(file: path, .write(FileWriteError(path: path, step: "\(error)", code: 0)))
        }
    }
}
