import Foundation

/// JSON objects (from `JSONSerialization`) as config values, keeping ints apart from
/// floats: MindSpore cases write `1.0` where a float is meant and `1` for an int.
enum ScheduleJSON {
    static func value(_ any: Any) -> ConfigValue {
        switch any {
        case is NSNull: return .null
        case let s as String: return .string(s)
        case let n as NSNumber:
            switch String(cString: n.objCType) {
            case "c", "B": return .bool(n.boolValue)
            case "d", "f": return .float(n.doubleValue)
            default: return .int(n.int64Value)
            }
        case let list as [Any]: return .list(list.map(value))
        case let dict as [String: Any]: return .dict(self.dict(dict))
        default: return .string("\(any)")
        }
    }

    /// Keys in sorted order: `JSONSerialization` does not keep the file's order.
    static func dict(_ d: [String: Any], origin: ConfigOrigin? = nil) -> ConfigDict {
        var out = ConfigDict()
        out.origin = origin
        for key in d.keys.sorted() { out[key, origin: origin] = value(d[key] as Any) }
        return out
    }

    static func object(at path: String) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StepwiseError.usage("cannot read \(path): \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StepwiseError.config("\(path) is not a JSON object")
        }
        return object
    }
}
