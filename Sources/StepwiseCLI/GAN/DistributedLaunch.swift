import Foundation
import Stepwise

/// `stepwise gan --ranks N` outside mpirun: runs this same command under
/// `mpirun -n N` on this machine and waits for it.
enum DistributedLaunch {
    static func relaunchUnderMPIRun(ranks: Int) throws -> Int32 {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw StepwiseError.usage("--ranks \(ranks) needs Open MPI's mpirun: run bash scripts/setup.sh (installs openmpi-bin), or start `mpirun -n \(ranks) stepwise gan ...` yourself")
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = MPILaunch.arguments(ranks: ranks) + [exe] + CommandLine.arguments.dropFirst()
        var env = MPILaunch.environment(ProcessInfo.processInfo.environment)
        // The ranks share the cores: each gets its part instead of all of them.
        let perRank = String(max(1, ProcessInfo.processInfo.activeProcessorCount / ranks))
        for key in ["OPENBLAS_NUM_THREADS", "STEPWISE_NUM_THREADS"] where env[key] == nil { env[key] = perRank }
        p.environment = env
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
