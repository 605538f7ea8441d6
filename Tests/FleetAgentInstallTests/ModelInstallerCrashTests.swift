import Foundation
import Testing

@testable import FleetAgent

/// Stops an install or rollback after each step, as `kill -9` or a power cut would, then runs recovery
/// with a fresh installer and checks that `current` is exactly the old or exactly the new model and that
/// `installed.json` (and `previous`) agree with the files.
@Suite struct ModelInstallerCrashTests {
    let v1 = payload(4096, seed: 1)
    let v2 = payload(4096, seed: 2)
    let v3 = payload(4096, seed: 3)

    func installer(_ dir: String, crashAfter step: ModelInstallStep? = nil) -> ModelInstaller {
        ModelInstaller(dataDirectory: dir, maximumModelBytes: 1 << 20, hash: fakeHash, now: fixedNow) { reached in
            if reached == step { throw SimulatedCrash() }
        }
    }

    func install(_ installer: ModelInstaller, _ version: String, _ bytes: [UInt8]) throws {
        try installer.install(
            model: "kws",
            version: version,
            variant: "int8",
            sha256: fakeDigest(bytes),
            bytes: bytes,
            manifest: Array("manifest-\(version)".utf8)
        )
    }

    /// Asserts the directory holds `current` and `previous` exactly, described by `installed.json`.
    func expectConsistent(_ dir: String, current: [UInt8], version: String, previous: [UInt8]?) {
        let state = installer(dir).installed(model: "kws")
        #expect(fileBytes("\(dir)/models/kws/current.safetensors") == current)
        #expect(state?.version == version)
        #expect(state?.sha256 == fakeDigest(current))
        #expect(state?.size == current.count)
        #expect(fileBytes("\(dir)/models/kws/previous.safetensors") == previous)
        #expect(state?.previous?.sha256 == previous.map(fakeDigest))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/models/kws")) ?? []
        #expect(Set(names).isSubset(of: ["current.safetensors", "previous.safetensors", "installed.json"]))
    }

    @Test(arguments: ModelInstallStep.allCases)
    func installInterruptedAfterEachStep(step: ModelInstallStep) throws {
        try withDataDirectory { dir in
            try install(installer(dir), "1", v1)
            try install(installer(dir), "2", v2)
            #expect(throws: SimulatedCrash.self) { try install(installer(dir, crashAfter: step), "3", v3) }
            // The application's path never holds a mix, even before recovery.
            let visible = fileBytes("\(dir)/models/kws/current.safetensors")
            #expect(visible == v2 || visible == v3)

            let reports = try installer(dir).recover()
            #expect(reports.map(\.model) == ["kws"])
            if step == .wrotePending {
                #expect(reports.first?.outcome == .abandonedInstall)
                expectConsistent(dir, current: v2, version: "2", previous: v1)
            } else {
                #expect(reports.first?.outcome == .completedInstall)
                expectConsistent(dir, current: v3, version: "3", previous: v2)
            }
            #expect(try installer(dir).recover().isEmpty)
        }
    }

    @Test(arguments: ModelInstallStep.allCases)
    func firstInstallInterruptedAfterEachStep(step: ModelInstallStep) throws {
        try withDataDirectory { dir in
            if step == .linkedPreviousTemporary {
                // A first install has no previous version to link, so it never reaches this step.
                try install(installer(dir, crashAfter: step), "1", v1)
            } else {
                #expect(throws: SimulatedCrash.self) { try install(installer(dir, crashAfter: step), "1", v1) }
            }
            try installer(dir).recover()
            if step == .wrotePending {
                #expect(!fileExists("\(dir)/models/kws/current.safetensors"))
                #expect(installer(dir).installed().isEmpty)
            } else {
                expectConsistent(dir, current: v1, version: "1", previous: nil)
            }
        }
    }

    @Test(arguments: ModelInstallStep.allCases)
    func rollbackInterruptedAfterEachStep(step: ModelInstallStep) throws {
        try withDataDirectory { dir in
            try install(installer(dir), "1", v1)
            try install(installer(dir), "2", v2)
            #expect(throws: SimulatedCrash.self) { try installer(dir, crashAfter: step).rollback(model: "kws") }
            try installer(dir).recover()
            if step == .wrotePending {
                expectConsistent(dir, current: v2, version: "2", previous: v1)
            } else {
                expectConsistent(dir, current: v1, version: "1", previous: v2)
            }
        }
    }

    @Test func tornNewFileIsDeletedAndTheOldModelKept() throws {
        try withDataDirectory { dir in
            try install(installer(dir), "1", v1)
            try install(installer(dir), "2", v2)
            #expect(throws: SimulatedCrash.self) { try install(installer(dir, crashAfter: .wroteIncoming), "3", v3) }
            // Pretend the crash came mid-write: only half of the new file reached the disk.
            try writeBytes(Array(v3[..<1000]), to: "\(dir)/models/kws/current.safetensors.new")
            let reports = try installer(dir).recover()
            #expect(reports.first?.outcome == .abandonedInstall)
            expectConsistent(dir, current: v2, version: "2", previous: v1)
        }
    }

    @Test func tornTemporaryFilesAreRemoved() throws {
        try withDataDirectory { dir in
            try install(installer(dir), "1", v1)
            try install(installer(dir), "2", v2)
            try writeBytes([0x7b, 0x22], to: "\(dir)/models/kws/pending.json.tmp")
            try writeBytes([0x7b], to: "\(dir)/models/kws/installed.json.tmp")
            try writeBytes(Array(v3[..<10]), to: "\(dir)/models/kws/previous.safetensors.tmp")
            #expect(try installer(dir).recover().map(\.outcome) == [.repairedRecord])
            expectConsistent(dir, current: v2, version: "2", previous: v1)
        }
    }

    @Test func recordIsCorrectedFromTheActualFile() throws {
        try withDataDirectory { dir in
            try install(installer(dir), "1", v1)
            try install(installer(dir), "2", v2)
            // A crash after step 4 whose pending file also vanished cannot happen; but if installed.json is
            // lost, recovery hashes current rather than trusting anything else.
            try FileManager.default.removeItem(atPath: "\(dir)/models/kws/installed.json")
            #expect(try installer(dir).recover().map(\.outcome) == [.removedUnverifiedModel])
            #expect(!fileExists("\(dir)/models/kws/current.safetensors"))
            #expect(!fileExists("\(dir)/models/kws/previous.safetensors"))
        }
    }

    @Test func previousThatNoLongerMatchesItsRecordIsDropped() throws {
        try withDataDirectory { dir in
            try install(installer(dir), "1", v1)
            try install(installer(dir), "2", v2)
            try writeBytes(Array(v3[..<100]), to: "\(dir)/models/kws/previous.safetensors")
            #expect(try installer(dir).recover().map(\.outcome) == [.repairedRecord])
            expectConsistent(dir, current: v2, version: "2", previous: nil)
        }
    }

    @Test func recoveryPlanTable() {
        func record(_ version: String, _ bytes: [UInt8], previous: ModelInstallRecord? = nil) -> ModelInstallRecord {
            ModelInstallRecord(
                formatVersion: 1,
                model: "kws",
                version: version,
                variant: "int8",
                sha256: fakeDigest(bytes),
                size: bytes.count,
                installedAt: fixedNow(),
                previous: previous?.asPrevious,
                manifest: Data()
            )
        }
        let old = record("2", v2, previous: record("1", v1))
        let new = record("3", v3, previous: old)
        let d1 = fakeDigest(v1)
        let d2 = fakeDigest(v2)
        let d3 = fakeDigest(v3)
        // (pending, record, current digest, previous digest) -> (record version, keep previous, outcome)
        let rows:
            [(ModelInstallRecord?, ModelInstallRecord?, String?, String?, String?, Bool, ModelRecoveryReport.Outcome)] =
                [
                    (new, old, d2, d1, "2", true, .abandonedInstall),
                    (new, old, d2, d2, "2", false, .abandonedInstall),
                    (new, old, d3, d2, "3", true, .completedInstall),
                    (new, old, d3, d1, "3", false, .completedInstall),
                    (new, nil, d3, nil, "3", false, .completedInstall),
                    (new, old, "ff", d1, nil, false, .removedUnverifiedModel),
                    (nil, old, d2, nil, "2", false, .repairedRecord),
                    (nil, nil, d2, nil, nil, false, .removedUnverifiedModel),
                    (new, nil, nil, nil, nil, false, .abandonedInstall),
                ]
        for (pending, recorded, current, previous, version, keepPrevious, outcome) in rows {
            let plan = ModelRecoveryPlan(
                pending: pending,
                record: recorded,
                currentDigest: current,
                previousDigest: previous
            )
            #expect(plan.record?.version == version)
            #expect(plan.keepCurrent == (version != nil))
            #expect(plan.keepPrevious == keepPrevious)
            #expect(plan.outcome == outcome)
        }
    }
}
