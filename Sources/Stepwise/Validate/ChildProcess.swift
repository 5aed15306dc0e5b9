import Foundation

/// How a child process ended.
enum ChildExit: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
    case timedOut(seconds: Double)
    case couldNotStart(String)
}

/// Starts the validator's children and waits for them with a deadline. A check's child
/// may crash, hang or exhaust its memory limit; none of that reaches the validator.
enum ChildProcess {
    /// Runs `arguments[0]` with `arguments`, stdin from /dev/null and stdout plus stderr into
    /// `logPath`, with `environment` added to this process's. Kills it (SIGKILL, by pid)
    /// after `timeout` seconds.
    static func run(_ arguments: [String], environment: [String: String], logPath: String,
                    timeout: Double) -> ChildExit {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard rc == 0 else { return .couldNotStart(String(cString: strerror(rc))) }

        let start = DispatchTime.now().uptimeNanoseconds
        var status: Int32 = 0
        var pause: UInt32 = 200 // µs; grows to 10 ms so short checks return fast
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { return .couldNotStart("waitpid failed: \(String(cString: strerror(errno)))") }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if elapsed > timeout {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return .timedOut(seconds: timeout)
            }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        // WIFEXITED / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }

    /// "SIGSEGV (segmentation fault)", for reports. Under AddressSanitizer (which aborts
    /// on whatever it catches) the kind of error in its report names the real cause.
    static func describe(signal: Int32, log: String) -> String {
        if signal == SIGABRT, let range = log.range(of: "AddressSanitizer: ") {
            let kind = log[range.upperBound...].prefix { !$0.isWhitespace }
            return kind == "SEGV" ? describe(signal: SIGSEGV) + ", caught by AddressSanitizer"
                                  : "SIGABRT (AddressSanitizer: \(kind))"
        }
        return describe(signal: signal)
    }

    static func describe(signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGSEGV: "SIGSEGV (segmentation fault)", SIGABRT: "SIGABRT (abort)", SIGBUS: "SIGBUS (bus error)",
            SIGFPE: "SIGFPE (arithmetic exception)", SIGILL: "SIGILL (illegal instruction: a Swift runtime trap or a bad jump)",
            SIGTRAP: "SIGTRAP (trap)", SIGKILL: "SIGKILL (killed, e.g. out of memory)",
            SIGXCPU: "SIGXCPU (CPU time limit exceeded)", SIGSYS: "SIGSYS (bad system call)",
        ]
        return names[signal] ?? "signal \(signal)"
    }

    /// What a child's output says about how it ended: the crash line and first frames
    /// of Swift's backtracer, and the last other lines (glibc's or a sanitizer's
    /// complaint, the plugin's log), at most `maxLines`.
    static func tail(of path: String, maxLines: Int = 8, maxBytes: Int = 16384) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0)
        let data = (try? handle.readToEnd()) ?? Data()
        var crash: [String] = [], frames: [String] = [], other: [String] = []
        for raw in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line == "..." { continue }
            if line.hasPrefix("*** Program crashed:") {
                crash.append(line.trimmingCharacters(in: CharacterSet(charactersIn: "* ")))
            } else if line.first?.isNumber == true, line.contains(" 0x"), line.contains(" in ") {
                let frame = line.range(of: " at /").map { String(line[..<$0.lowerBound]) } ?? line
                if frames.count < 4 { frames.append("  " + frame.split(whereSeparator: \.isWhitespace).joined(separator: " ")) }
            } else if !(line.hasPrefix("*** Signal") || line.hasPrefix("Platform:") || line.hasPrefix("Thread ")
                        || line.hasPrefix("Backtrace took") || line.contains(" = 0x") || line.hasPrefix("==")) {
                other.append(line)
            }
        }
        let lines = crash + frames + other.suffix(max(1, maxLines - crash.count - frames.count))
        return lines.joined(separator: "\n")
    }

    /// Makes Swift's crash handler print only what a report needs.
    static let backtraceSettings = "enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=none"
}

/// Limits a check's child applies to itself before it loads the plugin, so a huge
/// allocation or an endless loop fails that check instead of stalling the machine.
enum ChildLimits {
    /// True in a binary built with `-sanitize=address` (or thread): its shadow memory
    /// needs terabytes of address space, so RLIMIT_AS cannot apply.
    static var underSanitizer: Bool {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
            || dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil
    }

    /// Caps the address space at what is mapped now plus `memoryBytes`, CPU time at
    /// `cpuSeconds`, and disables core dumps (a crashing plugin is an expected event here).
    static func apply(memoryBytes: UInt64, cpuSeconds: UInt64) {
        var core = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(RLIMIT_CORE_VALUE, &core)
        var cpu = rlimit(rlim_cur: rlim_t(cpuSeconds), rlim_max: rlim_t(cpuSeconds + 2))
        setrlimit(RLIMIT_CPU_VALUE, &cpu)
        guard !underSanitizer else { return }
        let mapped = currentVirtualBytes()
        var space = rlimit(rlim_cur: rlim_t(mapped + memoryBytes), rlim_max: rlim_t(mapped + memoryBytes))
        setrlimit(RLIMIT_AS_VALUE, &space)
    }

    /// The process's mapped address space (first field of /proc/self/statm, in pages).
    static func currentVirtualBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").first.flatMap({ UInt64($0) }) else { return 1 << 30 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    // Glibc imports these as enum cases of __rlimit_resource; Swift wants the raw type.
    static let RLIMIT_CORE_VALUE = __rlimit_resource_t(RLIMIT_CORE.rawValue)
    static let RLIMIT_CPU_VALUE = __rlimit_resource_t(RLIMIT_CPU.rawValue)
    static let RLIMIT_AS_VALUE = __rlimit_resource_t(RLIMIT_AS.rawValue)

    /// glibc's malloc checking (libc_malloc_debug with MALLOC_CHECK_=3) makes a one-byte
    /// heap overflow abort at the next free, and MALLOC_PERTURB_ fills fresh and freed
    /// blocks with garbage so reads of uninitialized or freed memory show. Not combinable
    /// with a sanitizer runtime, which must come first.
    ///
    /// Under AddressSanitizer the child's ASan takes both roles: it reports overflows,
    /// and allocations above the memory budget fail as they would under RLIMIT_AS.
    static func mallocCheckEnvironment(memoryBytes: UInt64) -> [String: String] {
        guard !underSanitizer else {
            let existing = ProcessInfo.processInfo.environment["ASAN_OPTIONS"].map { $0 + ":" } ?? ""
            return ["ASAN_OPTIONS": existing + "abort_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=\(memoryBytes >> 20)"]
        }
        let dirs = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                    "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
        guard dirs.contains(where: { FileManager.default.fileExists(atPath: $0 + "/libc_malloc_debug.so.0") }) else {
            return ["MALLOC_PERTURB_": "165"]
        }
        var preload = "libc_malloc_debug.so.0"
        if let existing = ProcessInfo.processInfo.environment["LD_PRELOAD"], !existing.isEmpty {
            preload = existing + ":" + preload
        }
        return ["LD_PRELOAD": preload, "MALLOC_CHECK_": "3", "MALLOC_PERTURB_": "165"]
    }
}
