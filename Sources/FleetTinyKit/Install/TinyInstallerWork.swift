/// The decoders' state of a ``TinyInstaller`` (stream-mode models, column sums and input window; zlib tables),
/// about 6 KB whatever the model size. It lives in memory allocated when the installer is made (at start-up, never
/// again), not inline: the installer value is then a few hundred bytes, so the copies of it (and of the leaf that
/// holds it) the compiler makes from frame to frame cost little stack. Each part is zeroed and reset in place
/// (they are plain data): building them as values would put them on the stack once more. Only the installer that
/// made it uses it.
final class TinyInstallerWork {
    let input = zeroed(TinyInputWindow.self)
    let decoder = zeroed(TinyRangeDecoder.self)
    let models = zeroed(TinyStreamModels.self)
    let operation = zeroed(TinyStreamOperation.self)
    let inflate = zeroed(TinyInflateState.self)

    init() {
        input.pointee.reset()
        models.pointee.reset()
        operation.pointee.reset()
        inflate.pointee.reset()
    }

    deinit {
        input.deallocate()
        decoder.deallocate()
        models.deallocate()
        operation.deallocate()
        inflate.deallocate()
    }

    /// Bytes of state the parts hold: what the installer needs besides its own value.
    static var stateBytes: Int {
        MemoryLayout<TinyInputWindow>.stride + MemoryLayout<TinyRangeDecoder>.stride
            + MemoryLayout<TinyStreamModels>.stride + MemoryLayout<TinyStreamOperation>.stride
            + MemoryLayout<TinyInflateState>.stride
    }

    private static func zeroed<T>(_ type: T.Type) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: MemoryLayout<T>.stride,
            alignment: MemoryLayout<T>.alignment
        )
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.stride)
        return raw.bindMemory(to: T.self, capacity: 1)
    }
}
