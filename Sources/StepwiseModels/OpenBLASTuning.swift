import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Choosing OpenBLAS's kernels and thread count for the GAN demo.
///
/// OpenBLAS (a DYNAMIC_ARCH build, as Debian's) picks its kernel set once, while the
/// library loads, before `main`; it reads `OPENBLAS_CORETYPE` and `OPENBLAS_NUM_THREADS`
/// then. When it settles for a pre-AVX-512 kernel set on an AVX-512 CPU (Debian's 0.3.21
/// does on some Xeons it does not recognise), the only fix from inside the process is to
/// set the variable and start over: `reexecIfBeneficial()` does that, once.
public enum OpenBLASTuning {
    /// The kernel set OpenBLAS chose, e.g. "SkylakeX" or "Haswell".
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64".
    public static var config: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config)
    }

    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    public static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(max(count, 1))) }

    /// One line for logs: core, threads and build.
    public static var summary: String { "OpenBLAS core \(coreName), \(threadCount) thread(s); \(config)" }

    /// Set in the environment of the re-executed process, so it never re-executes again.
    public static let markerVariable = "STEPWISE_OPENBLAS_REEXEC"

    /// Kernel sets that already use AVX-512 (OpenBLAS's corename spellings, lowercased).
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    /// What OpenBLAS's SkylakeX kernels execute; all five must be present and OS-enabled.
    static let avx512Flags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// What `reexecIfBeneficial` did instead of re-executing.
    public enum Outcome: Equatable, Sendable, CustomStringConvertible {
        /// The user set OPENBLAS_CORETYPE; their choice stands.
        case userChoice(coreType: String)
        /// This process is the re-executed one.
        case alreadyReexecuted
        /// The CPU (or the kernel's XSAVE setup) lacks AVX-512: nothing faster to pick.
        case noAVX512
        /// OpenBLAS already runs an AVX-512 kernel set.
        case alreadyOptimal(core: String)
        /// A re-exec was warranted but `execv` failed; the process continues as it was.
        case execFailed(errno: Int32)

        public var description: String {
            switch self {
            case .userChoice(let coreType): "OPENBLAS_CORETYPE=\(coreType) set by the user; kept"
            case .alreadyReexecuted: "re-executed with OPENBLAS_CORETYPE=\(getenvString("OPENBLAS_CORETYPE") ?? "?")"
            case .noAVX512: "CPU without AVX-512; OpenBLAS's own choice kept"
            case .alreadyOptimal(let core): "OpenBLAS already uses \(core) kernels"
            case .execFailed(let code): "re-exec failed (\(String(cString: strerror(code)))); continuing with \(coreName)"
            }
        }
    }

    /// What to do, decided from the environment, the CPU flags and OpenBLAS's choice.
    enum Plan: Equatable {
        case keep(Outcome)
        case reexec(setting: [String: String])
    }

    static func plan(environment: [String: String], cpuFlags: Set<String>, currentCore: String,
                     coreType: String, threads: Int?) -> Plan {
        if environment[markerVariable] != nil { return .keep(.alreadyReexecuted) }
        if let chosen = environment["OPENBLAS_CORETYPE"] { return .keep(.userChoice(coreType: chosen)) }
        guard avx512Flags.isSubset(of: cpuFlags) else { return .keep(.noAVX512) }
        if avx512Cores.contains(currentCore.lowercased()) { return .keep(.alreadyOptimal(core: currentCore)) }
        var setting = ["OPENBLAS_CORETYPE": coreType, markerVariable: "1"]
        if let threads, environment["OPENBLAS_NUM_THREADS"] == nil { setting["OPENBLAS_NUM_THREADS"] = String(threads) }
        return .reexec(setting: setting)
    }

    /// Call first thing in `main`, before any output or threads. On an AVX-512 CPU where
    /// OpenBLAS chose slower kernels and the user has not set OPENBLAS_CORETYPE, sets it to
    /// `coreType` (and OPENBLAS_NUM_THREADS to `threads` unless set) and re-executes
    /// `/proc/self/exe` with the same arguments: on success it does not return. A marker
    /// variable stops a second re-exec. Otherwise returns why it kept the process, after
    /// limiting OpenBLAS to `threads` (unless OPENBLAS_NUM_THREADS is set) in place.
    @discardableResult
    public static func reexecIfBeneficial(coreType: String = "SkylakeX", threads: Int? = 1) -> Outcome {
        let relevant = ["OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", markerVariable]
        var environment: [String: String] = [:]
        for name in relevant { environment[name] = getenvString(name) }
        let decision = plan(environment: environment, cpuFlags: cpuFlags(), currentCore: coreName,
                            coreType: coreType, threads: threads)
        switch decision {
        case .keep(let outcome):
            if let threads, environment["OPENBLAS_NUM_THREADS"] == nil { setThreadCount(threads) }
            return outcome
        case .reexec(let setting):
            let code = reexec(setting: setting)
            if let threads, environment["OPENBLAS_NUM_THREADS"] == nil { setThreadCount(threads) }
            return .execFailed(errno: code)
        }
    }

    /// Sets `setting` in the environment and replaces the process with a fresh run of the
    /// same executable and arguments. Returns only if `execv` fails, with its errno, after
    /// undoing the setting so children do not inherit one that never applied.
    static func reexec(setting: [String: String]) -> Int32 {
        for (name, value) in setting { setenv(name, value, 1) }
        fflush(nil)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let code = errno
        for name in setting.keys { unsetenv(name) }
        return code
    }

    /// The CPU feature flags Linux reports (and has enabled) in /proc/cpuinfo. Read there
    /// rather than with cpuid: the kernel clears AVX-512 flags whose register state it does
    /// not save, and Swift has no cpuid intrinsic.
    static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            guard text.hasPrefix("flags"), let colon = text.firstIndex(of: ":") else { continue }
            return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        return []
    }
}

func getenvString(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
