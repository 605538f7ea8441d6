import FleetTrust
import Foundation

/// The payload of a protected model's transfer, kept in memory instead of the on-disk journal: a payload is the
/// (compressed) weights or a delta to them, so journaling it would put the weights on disk in the clear. Such a
/// transfer does not resume after a disconnect; it starts again.
struct MemoryTransfer {
    let descriptor: TransferDescriptor
    private(set) var bytes: [UInt8] = []

    init(_ descriptor: TransferDescriptor, maximumBytes: Int) throws {
        guard descriptor.totalBytes <= maximumBytes else {
            throw AgentError("\(descriptor.model): a \(descriptor.totalBytes)-byte payload exceeds \(maximumBytes)")
        }
        self.descriptor = descriptor
    }

    var progress: TransferProgress {
        TransferProgress(descriptor: descriptor, receivedBytes: bytes.count, startedAt: Date())
    }

    /// Adds the chunk at `offset`, which must follow what was received, without passing the announced size.
    mutating func append(_ chunk: [UInt8], at offset: Int) throws {
        guard offset == bytes.count, chunk.count <= descriptor.totalBytes - bytes.count else {
            throw AgentError(
                "\(descriptor.model): chunk at \(offset) (\(chunk.count) bytes) does not follow \(bytes.count) of "
                    + "\(descriptor.totalBytes)"
            )
        }
        bytes += chunk
    }

    /// The whole payload, checked against the digest `transferStart` announced.
    func complete() throws -> [UInt8] {
        guard bytes.count == descriptor.totalBytes, Digest.hex(Digest.sha256(bytes)) == descriptor.payloadSHA256
        else { throw AgentError("\(descriptor.model): the payload does not match its digest") }
        return bytes
    }
}
