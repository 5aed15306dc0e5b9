import Foundation

/// How Stepwise starts `mpirun` itself (`stepwise gan --ranks N`, the tests): one machine,
/// loopback only, so it works without a network and on fewer cores than ranks.
public enum MPILaunch {
    /// mpirun's options before the program: `-n ranks`, oversubscription (more ranks than
    /// cores), running as root when this process is root (CI containers), and Open MPI's
    /// shared-memory and self transports only.
    public static func arguments(ranks: Int) -> [String] {
        var args = ["-n", "\(ranks)", "--oversubscribe", "--mca", "btl", "self,vader"]
        if getuid() == 0 { args.insert("--allow-run-as-root", at: 0) }
        return args
    }

    /// The environment for mpirun: the given one, with the out-of-band channel kept on
    /// the loopback interface unless the caller chose otherwise.
    public static func environment(_ base: [String: String]) -> [String: String] {
        var env = base
        if env["OMPI_MCA_oob_tcp_if_include"] == nil { env["OMPI_MCA_oob_tcp_if_include"] = "lo" }
        // Ranks started by this mpirun must not think they are nested in an outer one.
        for key in env.keys where key.hasPrefix("OMPI_COMM_WORLD") || key.hasPrefix("PMIX_") { env[key] = nil }
        return env
    }
}
