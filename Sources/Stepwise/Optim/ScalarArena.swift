/// Hands out the small per-parameter pieces of optimizer state — each parameter's table of
/// slot pointers and its SCALAR slots (one double each) — from shared blocks, so the
/// pieces of parameters that get state one after another sit next to each other.
///
/// Why: an elementwise step walks every tensor's slot table and scalars (`step += 1`) in a
/// serial loop before its parallel kernel. Each piece in its own small allocation, among
/// the tensors' buffers, cost a dependent cache miss per tensor.
final class ScalarArena {
    /// A block of 8-byte words, freed when the last SlotStorage holding a piece of it is.
    final class Block {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var used = 0

        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(byteCount: capacity * 8, alignment: 64)
            base.initializeMemory(as: UInt64.self, repeating: 0, count: capacity)
        }

        deinit { base.deallocate() }
    }

    /// 4 KiB: a page of words.
    private static let blockCapacity = 512
    private var current: Block?

    /// `count` zeroed, contiguous 8-byte words and the block to keep alive while they are used.
    func words(_ count: Int) -> (UnsafeMutableRawPointer, Block) {
        let block: Block
        if let current, current.capacity - current.used >= count {
            block = current
        } else {
            block = Block(capacity: max(count, Self.blockCapacity))
            current = block
        }
        let p = block.base + block.used * 8
        block.used += count
        return (p, block)
    }
}
