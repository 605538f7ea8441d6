import FleetTrust
import Foundation

@testable import FleetStore

enum ModelFixtures {
    /// A distinct 32-byte digest per text (up to 32 bytes of it), zero-padded.
    static func digest(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8.prefix(32))
        return bytes + [UInt8](repeating: 0, count: 32 - bytes.count)
    }

    static func variant(
        _ model: String,
        _ version: Int,
        _ variant: String,
        size: Int = 1000,
        sha256: [UInt8]? = nil,
        requirements: [String: String] = [:],
        metadata: [String: String] = [:],
        at seconds: Double = 1
    ) -> NewModelVariant {
        let key = "\(model)/\(version)/\(variant)"
        let digest = sha256 ?? digest(key)
        return NewModelVariant(
            model: model,
            version: version,
            variant: variant,
            size: size,
            sha256: digest,
            blobPath: "blobs/\(Digest.hex(digest))",
            requirements: requirements,
            metadata: metadata,
            signedManifest: Array("manifest \(key)".utf8),
            createdAt: Dates.at(seconds)
        )
    }

    static func assignment(
        _ deviceID: String,
        _ model: String,
        _ version: Int?,
        _ variant: String?,
        reason: String = "fits",
        at seconds: Double = 10
    ) -> ModelAssignment {
        ModelAssignment(
            deviceID: deviceID,
            model: model,
            version: version,
            variant: variant,
            reason: reason,
            updatedAt: Dates.at(seconds)
        )
    }

    static func transfer(
        _ deviceID: String,
        _ model: String,
        _ version: Int,
        encoding: String = "full",
        baseVersion: Int? = nil,
        wireBytes: Int = 500,
        at seconds: Double = 20
    ) -> NewTransfer {
        NewTransfer(
            deviceID: deviceID,
            model: model,
            version: version,
            variant: "int8",
            encoding: encoding,
            baseVersion: baseVersion,
            wireBytes: wireBytes,
            fullBytes: 800,
            fileBytes: 1000,
            startedAt: Dates.at(seconds),
            completedAt: Dates.at(seconds + 1.5),
            resumedFrom: 0
        )
    }

    /// Adds `variants` in order, returning the stored records.
    @discardableResult
    static func push(_ variants: [NewModelVariant], to store: CoordinatorStore) async throws -> [ModelVariantRecord] {
        var records: [ModelVariantRecord] = []
        for variant in variants {
            records.append(try await store.addModelVariant(variant))
        }
        return records
    }
}
