import Foundation
import Testing

@testable import FleetStore

@Suite("Model registry")
struct ModelRegistryTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func versionsOnlyGoUp(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            // Given kws v2 int8
            try await store.addModelVariant(ModelFixtures.variant("kws", 2, "int8"))

            // When / Then: another variant of the highest version is fine
            try await store.addModelVariant(ModelFixtures.variant("kws", 2, "fp32"))
            // the same variant again is a duplicate
            await #expect(throws: StoreError.duplicate) {
                try await store.addModelVariant(ModelFixtures.variant("kws", 2, "int8", size: 7))
            }
            // a lower version is refused, even as a new variant name
            let lower = await #expect(throws: StoreError.versionNotIncreasing) {
                try await store.addModelVariant(ModelFixtures.variant("kws", 1, "int8"))
            }
            #expect(lower?.message.contains("highest version 2") == true)
            // a higher version is fine, and then v2 is closed
            try await store.addModelVariant(ModelFixtures.variant("kws", 3, "int8"))
            await #expect(throws: StoreError.versionNotIncreasing) {
                try await store.addModelVariant(ModelFixtures.variant("kws", 2, "int16"))
            }
            // another model has its own history
            try await store.addModelVariant(ModelFixtures.variant("vad", 1, "f32"))

            // And only the successful pushes left an event, in order
            let events = try await store.events(deviceID: nil, limit: 100, afterSequence: nil)
            #expect(events.map(\.kind) == Array(repeating: "model_pushed", count: 4))
            #expect(
                events.map(\.detail) == [
                    "kws v2 int8, 1000 bytes", "kws v2 fp32, 1000 bytes", "kws v3 int8, 1000 bytes",
                    "vad v1 f32, 1000 bytes",
                ]
            )
            #expect(events.allSatisfy { $0.deviceID == nil && $0.at == Dates.at(1) })
            #expect(try await store.modelVariants(model: "kws").count == 3)
        }
    }

    @Test
    func invalidVariantsAreRefused() async throws {
        let store = try CoordinatorStore.inMemory()
        var shortDigest = ModelFixtures.variant("kws", 1, "int8")
        shortDigest.sha256 = [1, 2, 3]
        var negative = ModelFixtures.variant("kws", 1, "int8")
        negative.version = -1
        var unnamed = ModelFixtures.variant("kws", 1, "int8")
        unnamed.model = ""
        var noBlob = ModelFixtures.variant("kws", 1, "int8")
        noBlob.blobPath = ""

        for variant in [shortDigest, negative, unnamed, noBlob] {
            await #expect(throws: StoreError.invalidArgument) { try await store.addModelVariant(variant) }
        }
        #expect(try await store.models().isEmpty)
        #expect(try await store.events(deviceID: nil, limit: 10, afterSequence: nil).isEmpty)
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func recordsRoundTripAndParseAccuracy(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            // Given a variant with requirements, metadata and a manifest
            let new = ModelFixtures.variant(
                "kws",
                1,
                "int8",
                size: 123_456,
                requirements: ["min-ram": "48MiB", "arch": "armv7,arm64", "accelerator": "none"],
                metadata: ["accuracy": "0.91", "description": "keyword spotting"],
                at: 1.234
            )

            // When it is stored and read back
            let stored = try await store.addModelVariant(new)
            let read = try await store.modelVariant(model: "kws", version: 1, variant: "int8")

            // Then every field is there, and accuracy is parsed
            #expect(read == stored)
            #expect(stored.size == 123_456)
            #expect(stored.sha256 == new.sha256)
            #expect(stored.blobPath == new.blobPath)
            #expect(stored.requirements == new.requirements)
            #expect(stored.metadata == new.metadata)
            #expect(stored.signedManifest == new.signedManifest)
            #expect(stored.createdAt == Dates.at(1.234))
            #expect(stored.accuracy == 0.91)
        }
    }

    @Test
    func accuracyIsNilWhenMissingOrNotANumber() {
        #expect(ModelVariantRecord.accuracy(in: [:]) == nil)
        #expect(ModelVariantRecord.accuracy(in: ["accuracy": "high"]) == nil)
        #expect(ModelVariantRecord.accuracy(in: ["accuracy": "nan"]) == nil)
        #expect(ModelVariantRecord.accuracy(in: ["accuracy": " 0.5 "]) == 0.5)
        #expect(ModelVariantRecord.accuracy(in: ["accuracy": "1"]) == 1)
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func variantsAreOrderedByVersionDescendingThenVariant(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            // Given variants pushed out of name order, and another model
            try await ModelFixtures.push(
                [
                    ModelFixtures.variant("kws", 1, "b"), ModelFixtures.variant("kws", 1, "a"),
                    ModelFixtures.variant("kws", 2, "c"), ModelFixtures.variant("kws", 2, "a"),
                    ModelFixtures.variant("vad", 9, "a"), ModelFixtures.variant("kws", 3, "b"),
                ],
                to: store
            )

            // When / Then
            let listed = try await store.modelVariants(model: "kws").map { "v\($0.version) \($0.variant)" }
            #expect(listed == ["v3 b", "v2 a", "v2 c", "v1 a", "v1 b"])
            #expect(try await store.modelVariants(model: "nope").isEmpty)
            #expect(try await store.latestVersion(model: "kws") == 3)
            #expect(try await store.latestVersion(model: "vad") == 9)
            #expect(try await store.latestVersion(model: "nope") == nil)
            #expect(try await store.modelVariant(model: "kws", version: 2, variant: "b") == nil)
            #expect(try await store.modelVariant(model: "kws", version: 2, variant: "c")?.variant == "c")
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func lookupBySHA256(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            // Given three variants, two of which share one blob
            let shared = ModelFixtures.digest("shared")
            let records = try await ModelFixtures.push(
                [
                    ModelFixtures.variant("vad", 1, "f32", sha256: shared),
                    ModelFixtures.variant("kws", 1, "int8"),
                    ModelFixtures.variant("asr", 4, "f32", sha256: shared),
                ],
                to: store
            )

            // When / Then
            #expect(try await store.modelVariant(sha256: records[1].sha256) == records[1])
            #expect(try await store.modelVariant(sha256: shared) == records[2])  // "asr" sorts first
            #expect(try await store.modelVariant(sha256: ModelFixtures.digest("unknown")) == nil)
            #expect(try await store.modelVariant(sha256: []) == nil)
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func modelsSummariseVersionsVariantsAndAssignedDevices(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            #expect(try await store.models().isEmpty)

            // Given two models and three devices with assignments (one with no variant that fits)
            try await ModelFixtures.push(
                [
                    ModelFixtures.variant("vad", 5, "f32"), ModelFixtures.variant("kws", 1, "int8"),
                    ModelFixtures.variant("kws", 2, "int8"), ModelFixtures.variant("kws", 2, "fp32"),
                ],
                to: store
            )
            try await Fixtures.enrolDevices(3, in: store)
            try await store.setAssignment(ModelFixtures.assignment("dev-0", "kws", 2, "int8"))
            try await store.setAssignment(ModelFixtures.assignment("dev-1", "kws", nil, nil, reason: "no variant fits"))
            try await store.setAssignment(ModelFixtures.assignment("dev-2", "vad", 5, "f32"))

            // When / Then
            #expect(
                try await store.models() == [
                    ModelSummary(
                        name: "kws",
                        latestVersion: 2,
                        versions: [1, 2],
                        variants: ["fp32", "int8"],
                        deviceCount: 2
                    ),
                    ModelSummary(name: "vad", latestVersion: 5, versions: [5], variants: ["f32"], deviceCount: 1),
                ]
            )
        }
    }
}
