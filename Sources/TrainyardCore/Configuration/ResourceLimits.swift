import Foundation

/// Every size, count and time that input from outside can push on, with a safe default.
///
/// One value, read from configuration (`limits.*` / `TRAINYARD_LIMITS_*`), handed to whatever
/// checks it. Hitting a limit is a clear 4xx (over HTTP), exit code 2 (CLI) or a failed job
/// whose reason names the limit's key, never a crash or a hang.
public struct ResourceLimits: Sendable, Equatable {
    /// `limits.spec_bytes`: largest spec text (YAML or JSON) accepted.
    public var specBytes: Int
    /// `limits.stage_bytes`: largest data file staged for a job (train or validation).
    public var stageBytes: Int64
    /// `limits.stage_seconds`: longest a single staging read may take (a FIFO, a slow mount).
    public var stageSeconds: Int
    /// `limits.classes`: most distinct labels / classes a classifier may be trained on.
    public var classes: Int
    /// `limits.features`: most input columns a tabular model may be trained on.
    public var features: Int
    /// `limits.train_memory_bytes`: most memory a native training run may plan for its
    /// data-sized arrays (classes × features weights, rows × classes scores…); default half of
    /// physical memory. A run that would need more fails at once, naming this key.
    public var trainMemoryBytes: Int = ResourceLimits.defaultTrainMemoryBytes
    /// `limits.tensor_elements`: most elements one inference tensor (shape product) may hold.
    public var tensorElements: Int
    /// `limits.header_seconds`: time a client has to send a request's head.
    public var headerSeconds: Int
    /// `limits.body_seconds`: longest stall between body bytes (a gap, so a large, slow but steady upload still works).
    public var bodySeconds: Int
    /// `limits.idle_seconds`: an idle keep-alive connection is closed after this long.
    public var idleSeconds: Int

    public init(specBytes: Int = 1 << 20, stageBytes: Int64 = 16 << 30, stageSeconds: Int = 600, classes: Int = 10_000,
                features: Int = 10_000, tensorElements: Int = 1 << 24, headerSeconds: Int = 10, bodySeconds: Int = 60,
                idleSeconds: Int = 120) {
        self.specBytes = specBytes
        self.stageBytes = stageBytes
        self.stageSeconds = stageSeconds
        self.classes = classes
        self.features = features
        self.tensorElements = tensorElements
        self.headerSeconds = headerSeconds
        self.bodySeconds = bodySeconds
        self.idleSeconds = idleSeconds
    }
}

extension ResourceLimits {
    /// Half of physical memory: room for the server beside one training run.
    public static let defaultTrainMemoryBytes = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)
}

/// How bring-your-own (`task: command`) programs are started, for training and serving.
public struct RunnerOptions: Sendable, Equatable {
    /// `runner.env_allow`: names copied from the server's environment into a child's (a trailing
    /// `*` matches a prefix). Nothing else is inherited: no tokens, no cloud credentials.
    public var environmentAllowList: [String]
    /// `runner.user`: when the server runs as root, children run as this user (name or uid).
    public var user: String?
    /// `runner.restrict_writes`: on Linux with Landlock, a child may only write inside its own
    /// folders and `writablePaths` (skipped where the kernel has no Landlock).
    public var restrictWrites: Bool
    /// `runner.writable`: folders every child may write to besides its own (with `restrictWrites`).
    public var writablePaths: [String]

    public static let defaultWritablePaths = ["/tmp", "/var/tmp", "/dev"]

    public static let defaultEnvironmentAllowList = ["PATH", "HOME", "LANG", "LC_*", "TZ", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION",
                                                     "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR"]

    public init(environmentAllowList: [String] = RunnerOptions.defaultEnvironmentAllowList, user: String? = nil,
                restrictWrites: Bool = true, writablePaths: [String] = RunnerOptions.defaultWritablePaths) {
        self.environmentAllowList = environmentAllowList
        self.user = user
        self.restrictWrites = restrictWrites
        self.writablePaths = writablePaths
    }
}
