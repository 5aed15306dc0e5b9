import Foundation
import StepwiseABI

/// Where to look for plugins, in order: the bundled folder (beside the executable), each
/// folder of STEPWISE_PLUGIN_PATH, `directories`, then single `files`.
public struct PluginLoadOptions: Sendable {
    public var includeBundled = true
    public var includeEnvironment = true
    public var directories: [String] = []
    public var files: [String] = []
    public init(includeBundled: Bool = true, includeEnvironment: Bool = true,
                directories: [String] = [], files: [String] = []) {
        self.includeBundled = includeBundled; self.includeEnvironment = includeEnvironment
        self.directories = directories; self.files = files
    }
}

/// What happened to one file the loader looked at; `stepwise plugins` prints these.
public struct PluginRecord: Sendable {
    public enum Status: Sendable, Equatable {
        case loaded
        case rejected(String)   // the one-line reason
        case ignored(String)    // not a plugin candidate (e.g. not a .so)
    }
    public var path: String
    public var status: Status
    public var plugin: LoadedPlugin?
    /// Non-fatal notes, e.g. a short type name already taken by another plugin.
    public var warnings: [String] = []
}

/// A one-line diagnostic naming the file and the reason.
public struct PluginDiagnostic: Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

enum PluginLoader {
    static let bundledPrefix = "libStepwisePlugin"

    /// The folder of the running executable (or test bundle binary).
    static func bundledDirectory() -> String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (exe as NSString).deletingLastPathComponent
    }

    /// Candidate files in search order, with files that are not candidates marked ignored.
    static func candidates(_ options: PluginLoadOptions) -> [(path: String, ignoredBecause: String?)] {
        var out: [(String, String?)] = []
        var seen = Set<String>()
        func add(_ path: String, _ ignored: String?) {
            let key = (path as NSString).standardizingPath
            if seen.insert(key).inserted { out.append((path, ignored)) }
        }
        func scan(_ dir: String, bundled: Bool) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                add(dir, "plugin folder does not exist")
                return
            }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            for name in names {
                let path = (dir as NSString).appendingPathComponent(name)
                let isSO = name.hasSuffix(".so") || name.contains(".so.")
                if bundled {
                    if isSO && name.hasPrefix(bundledPrefix) { add(path, nil) }
                } else if isSO {
                    add(path, nil)
                } else {
                    add(path, "not a .so file")
                }
            }
        }
        if options.includeBundled, let dir = bundledDirectory() { scan(dir, bundled: true) }
        if options.includeEnvironment, let env = ProcessInfo.processInfo.environment["STEPWISE_PLUGIN_PATH"] {
            for dir in env.split(separator: ":").map(String.init) where !dir.isEmpty { scan(dir, bundled: false) }
        }
        for dir in options.directories { scan(dir, bundled: false) }
        for file in options.files { add(file, nil) }
        return out
    }

    /// Opens one file and reads its descriptor, validating everything. Never registers.
    static func open(_ path: String) -> Result<(UnsafePointer<stepwise_plugin>, LoadedPlugin, [(ComponentKind, UnsafePointer<stepwise_component>, [HyperparamInfo])]), DescriptorValidation.Failure> {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            return .failure(.init(reason: "no such file"))
        }
        guard !isDir.boolValue else { return .failure(.init(reason: "is a folder, not a shared library")) }
        // Swift code in a plugin must never be unloaded (DESIGN.md), hence NODELETE.
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown error"
            return .failure(.init(reason: "not a loadable shared library: \(shorten(why, path: path))"))
        }
        guard let sym = dlsym(handle, STEPWISE_ENTRY_SYMBOL) else {
            dlclose(handle)
            return .failure(.init(reason: "no entry symbol '\(STEPWISE_ENTRY_SYMBOL)' (not a Stepwise plugin)"))
        }
        let entry = unsafeBitCast(sym, to: stepwise_entry_fn.self)
        let fileName = (path as NSString).lastPathComponent
        let table = HostServices.makeTable(for: fileName)
        guard let descriptor = entry(table) else {
            return .failure(.init(reason: "entry function returned no descriptor"))
        }
        do throws(DescriptorValidation.Failure) {
            try DescriptorValidation.checkPlugin(descriptor)
            let plugin = LoadedPlugin(path: path, raw: descriptor, hostTable: table)
            var components: [(ComponentKind, UnsafePointer<stepwise_component>, [HyperparamInfo])] = []
            var names = Set<String>()
            for i in 0..<Int(descriptor.pointee.component_count) {
                let c = descriptor.pointee.components[i]
                let (kind, schema) = try DescriptorValidation.readComponent(c, index: i, pluginMinor: descriptor.pointee.abi_version.minor)
                let name = String(cString: c!.pointee.type_name)
                guard names.insert("\(kind.rawValue):\(name)").inserted else {
                    throw DescriptorValidation.Failure(reason: "declares \(kind.rawValue) '\(name)' twice")
                }
                components.append((kind, c!, schema))
            }
            return .success((descriptor, plugin, components))
        } catch {
            return .failure(error)
        }
    }

    private static func shorten(_ message: String, path: String) -> String {
        // dlerror repeats the path; keep the reason.
        message.replacingOccurrences(of: path + ": ", with: "")
    }
}
