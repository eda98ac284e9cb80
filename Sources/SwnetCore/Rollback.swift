/// Undo steps for an operation that changes several things: each step registers how to
/// reverse itself, and a failure runs them newest first so nothing half-made is left.
package final class Rollback {
    private var undoSteps: [() -> Void] = []

    package init() {}

    func onFailure(_ undo: @escaping () -> Void) { undoSteps.append(undo) }

    /// Runs `body`; if it throws, undoes every registered step and rethrows.
    package func run<T>(_ body: (Rollback) throws -> T) throws -> T {
        do {
            return try body(self)
        } catch {
            if !undoSteps.isEmpty { Log.debug("undoing \(undoSteps.count) step\(undoSteps.count == 1 ? "" : "s") after: \(error)") }
            for undo in undoSteps.reversed() { undo() }
            throw error
        }
    }
}
