import FoundationEssentials
import Dispatch
import Glibc

/// A blocking first-in-first-out queue with a fixed capacity, for handing work between two threads: the producer
/// waits when it is full, so memory stays bounded (backpressure).
public final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    private let condition = Condition()
    private var items: [Element] = []
    private let capacity: Int
    private var isClosed = false

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds an element, waiting while the queue is full. Returns false when the queue was closed.
    @discardableResult
    public func push(_ element: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !isClosed { condition.wait() }
        guard !isClosed else { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// Takes the oldest element, waiting while the queue is empty; nil once it is closed and drained.
    public func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !isClosed { condition.wait() }
        guard !items.isEmpty else { return nil }
        // Capacities are small, so shifting is cheaper than a ring buffer's bookkeeping.
        let element = items.removeFirst()
        condition.broadcast()
        return element
    }

    /// No more elements will be pushed; waiting consumers drain what is left, waiting producers give up.
    /// Elements waiting.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }

    public func close() {
        condition.lock()
        isClosed = true
        condition.broadcast()
        condition.unlock()
    }
}
