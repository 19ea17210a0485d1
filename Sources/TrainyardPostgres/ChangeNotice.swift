import TrainyardCore

/// Which other processes a lifecycle write notifies (`NOTIFY` on the namespace's channel; their
/// listeners call `onChange`, which wakes their idle workers and transform fan-outs). This
/// store's own `onChange` is called directly either way.
///
/// Every notification is delivered to every listening process, so a queue of short jobs paid
/// for two per job in each process: one for the enqueue, one for the completion. A completion
/// wakes nobody who needs it unless the kind has a running cap (a slot is free for a waiting
/// worker) or a fan-out waits for the job (a transform's parts); the worker that ran it
/// dequeues again by itself.
enum ChangeNotice {
    /// Nobody: the write frees no work (a heartbeat, a lease, a lease reclaimed by the dequeue
    /// that reads the queue again).
    case none
    /// Every listening process.
    case all
    /// The processes that may wait for this write: every one when the job became runnable
    /// (`JobEffect.wakeWorkers`: a release, a retry) or is a transform part; when the job ended,
    /// only if its kind has a running cap (checked in the statement, against `queue_caps` as
    /// committed).
    case whoMayWait

    /// (notify, notify only if the job's kind has a running cap) for a write of `transition`
    /// to a job of `kind`.
    func decide(_ transition: JobLifecycle.Transition, kind: JobKind) -> (always: Bool, ifCapped: Bool) {
        switch self {
        case .none: return (false, false)
        case .all: return (true, false)
        case .whoMayWait:
            if transition.effects.contains(.wakeWorkers) || kind == .transformPart { return (true, false) }
            return (false, transition.record.state.isTerminal)
        }
    }
}
