import Foundation

/// A thread of its own (1 MiB of stack) running one closure, which `join()` waits for: the
/// pipeline's aggregating thread, the parsing threads of a split file, the input's fingerprint
/// and the release's e-mail tables. What the closure shares with the caller is the caller's to
/// guard (a queue, or nothing read before `join()` returns).
final class JoinableThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Whether `join()` has returned.
    private(set) var joined = false

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () -> Void) {
        let done = done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits until the closure has returned (at once when it did before); called from one
    /// thread.
    func join() {
        guard !joined else { return }
        done.wait()
        joined = true
    }
}
