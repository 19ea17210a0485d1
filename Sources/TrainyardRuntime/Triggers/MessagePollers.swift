import Synchronization
import TrainyardCore

/// Which sqs triggers have a poller running and which should: each pass of `TriggerService`
/// says which triggers are active (`start` returns those without a poller yet); a poller runs
/// while its trigger is wanted and says when it ends. A trigger is wanted by id: one removed
/// and created again under the same name is another trigger and gets another poller; a
/// definition never changes under an id.
final class MessagePollers: Sendable {
    private struct State {
        var wanted: Set<Int64> = []
        var running: Set<Int64> = []
    }

    private let state = Mutex(State())

    /// Marks `active` as the wanted triggers; returns those to start a poller for.
    func start(_ active: [Trigger]) -> [Trigger] {
        state.withLock { state in
            state.wanted = Set(active.map(\.id))
            let new = active.filter { !state.running.contains($0.id) }
            state.running.formUnion(new.map(\.id))
            return new
        }
    }

    func isWanted(_ id: Int64) -> Bool { state.withLock { $0.wanted.contains(id) } }

    /// The poller of `id` ended.
    func finished(_ id: Int64) { state.withLock { _ = $0.running.remove(id) } }
}
