#if canImport(Glibc)
import Glibc
#endif

/// Why a safetensors file could not be read or written. Every error names the file, and
/// reading errors say what is wrong with it, so a user can tell a truncated copy from a
/// file written by something else.
public struct SafetensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// open/read/stat failed with this errno.
        case io(step: String, code: Int32)
        /// Saving failed; the previous file is intact.
        case write(FileWriteError)
        /// Fewer than the 8 bytes that hold the header length.
        case fileTooSmall(size: Int)
        /// The declared header length exceeds the 100 MB limit the reference readers use.
        case headerTooLarge(declared: UInt64)
        /// The header would end past the end of the file.
        case headerBeyondFile(declared: UInt64, fileSize: Int)
        case headerNotUTF8
        case invalidJSON(String)
        /// Valid JSON that is not a safetensors header (missing or mistyped field, ...).
        case invalidHeader(String)
        case unknownDType(tensor: String, dtype: String)
        /// After sorting by offset, a tensor does not start where the previous one ended
        /// (a gap or an overlap), or ends before it starts.
        case badOffsets(tensor: String, begin: UInt64, end: UInt64, expectedBegin: UInt64)
        /// Shape times element size overflows, or leaves a partial byte.
        case sizeOverflow(tensor: String)
        /// `data_offsets` span a different number of bytes than dtype and shape need.
        case sizeMismatch(tensor: String, dtype: SafetensorsDType, shape: [Int], expected: Int, declared: UInt64)
        /// The tensors do not exactly cover the data after the header (truncated file, or
        /// trailing bytes).
        case bufferSizeMismatch(covered: UInt64, available: Int)
        case tensorNotFound(String)
        /// Writing: a tensor name the format reserves, or a tensor whose data disagrees
        /// with its dtype and shape.
        case invalidTensor(name: String, reason: String)
    }

    public var file: String
    public var problem: Problem

    public init(file: String, _ problem: Problem) {
        self.file = file; self.problem = problem
    }

    public var description: String {
        switch problem {
        case .io(let step, let code):
            return "\(file): cannot \(step): \(String(cString: strerror(code)))"
        case .write(let error):
            return error.description
        case .fileTooSmall(let size):
            return "\(file): not a safetensors file: \(size) bytes, too short for the 8-byte header length"
        case .headerTooLarge(let n):
            return "\(file): not a safetensors file: declared header length \(n) exceeds the 100000000-byte limit"
        case .headerBeyondFile(let n, let size):
            return "\(file): truncated or not a safetensors file: header of \(n) bytes runs past the end of the file (\(size) bytes)"
        case .headerNotUTF8:
            return "\(file): corrupt safetensors header: not valid UTF-8"
        case .invalidJSON(let detail):
            return "\(file): corrupt safetensors header: invalid JSON: \(detail)"
        case .invalidHeader(let detail):
            return "\(file): invalid safetensors header: \(detail)"
        case .unknownDType(let tensor, let dtype):
            return "\(file): tensor '\(tensor)' has unknown dtype '\(dtype)' (known: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .badOffsets(let tensor, let begin, let end, let expected):
            let what: String
            if end < begin { what = "ends before it begins" }
            else if begin < expected { what = "overlaps the previous tensor, which ends at \(expected)" }
            else { what = "leaves a gap: the previous tensor ends at \(expected)" }
            return "\(file): tensor '\(tensor)' has data_offsets [\(begin), \(end)] that \(what)"
        case .sizeOverflow(let tensor):
            return "\(file): tensor '\(tensor)' declares a shape whose byte size overflows or is not a whole number of bytes"
        case .sizeMismatch(let tensor, let dtype, let shape, let expected, let declared):
            return "\(file): tensor '\(tensor)' (\(dtype.rawValue), shape \(shape)) needs \(expected) bytes but its data_offsets span \(declared)"
        case .bufferSizeMismatch(let covered, let available):
            if covered > UInt64(available) {
                return "\(file): truncated: tensors need \(covered) bytes of data but only \(available) follow the header"
            }
            return "\(file): corrupt: tensors cover \(covered) bytes of data but \(available) follow the header"
        case .tensorNotFound(let name):
            return "\(file): no tensor named '\(name)'"
        case .invalidTensor(let name, let reason):
            return "\(file): cannot save tensor '\(name)': \(reason)"
        }
    }
}
