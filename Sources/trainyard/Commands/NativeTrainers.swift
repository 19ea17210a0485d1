import TrainyardRuntime

/// The native learners (tabular, text) are registered here once their adapters land.
enum NativeTrainers {
    static func register(into registry: inout TrainerRegistry) {}
}
