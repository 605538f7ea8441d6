import Foundation
import Testing

@testable import FleetAgent

@Suite struct TransferJournalTests {
    let body = payload(10_000, seed: 7)

    func descriptor(_ bytes: [UInt8], model: String = "kws") -> TransferDescriptor {
        TransferDescriptor(
            model: model,
            version: "3",
            variant: "int8",
            encoding: .delta,
            baseVersion: "2",
            payloadSHA256: fakeDigest(bytes),
            totalBytes: bytes.count
        )
    }

    func journal(_ dir: String, limit: Int = TransferJournal.defaultMaximumTotalBytes) -> TransferJournal {
        TransferJournal(dataDirectory: dir, maximumTotalBytes: limit, hash: fakeHash, now: fixedNow)
    }

    @Test func chunksThenCompleteReturnsThePayload() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            var progress = try journal.begin(descriptor(body))
            while !progress.isComplete {
                let end = min(progress.receivedBytes + 4096, body.count)
                progress = try journal.append(
                    Array(body[progress.receivedBytes..<end]),
                    at: progress.receivedBytes,
                    model: "kws"
                )
            }
            #expect(try journal.complete(model: "kws") == body)
            try journal.discard(model: "kws")
            #expect(journal.progress(model: "kws") == nil)
            #expect(!fileExists("\(dir)/transfers/kws"))
        }
    }

    @Test func resumesAfterKillFromTheLastDurableChunk() throws {
        try withDataDirectory { dir in
            do {
                let first = journal(dir)
                _ = try first.begin(descriptor(body))
                _ = try first.append(Array(body[0..<3000]), at: 0, model: "kws")
                _ = try first.append(Array(body[3000..<6000]), at: 3000, model: "kws")
            }  // the process dies: nothing in memory survives
            let second = journal(dir)
            #expect(second.allInProgress().map(\.receivedBytes) == [6000])
            let resumed = try second.begin(descriptor(body))
            #expect(resumed.receivedBytes == 6000)
            #expect(resumed.startedAt == fixedNow())
            _ = try second.append(Array(body[6000...]), at: 6000, model: "kws")
            #expect(try second.complete(model: "kws") == body)
        }
    }

    @Test func crashAfterPayloadWriteBeforeStateUpdateIsCutBack() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            _ = try journal.begin(descriptor(body))
            _ = try journal.append(Array(body[0..<2000]), at: 0, model: "kws")
            // The next chunk reached the file but the process died before state.json was replaced.
            let handle = try #require(FileHandle(forWritingAtPath: "\(dir)/transfers/kws/payload.part"))
            handle.seekToEndOfFile()
            handle.write(Data(body[2000..<2500]))
            try handle.close()
            #expect(journal.progress(model: "kws")?.receivedBytes == 2000)
            #expect(try journal.begin(descriptor(body)).receivedBytes == 2000)
            #expect(fileBytes("\(dir)/transfers/kws/payload.part")?.count == 2000)
            _ = try journal.append(Array(body[2000...]), at: 2000, model: "kws")
            #expect(try journal.complete(model: "kws") == body)
        }
    }

    @Test func stateClaimingMoreThanTheFileRecoversToTheFileLength() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            _ = try journal.begin(descriptor(body))
            _ = try journal.append(Array(body[0..<5000]), at: 0, model: "kws")
            let handle = try #require(FileHandle(forWritingAtPath: "\(dir)/transfers/kws/payload.part"))
            try handle.truncate(atOffset: 1234)
            try handle.close()
            #expect(journal.progress(model: "kws")?.receivedBytes == 1234)
            #expect(throws: TransferJournalError.outOfOrder("")) {
                try journal.append(Array(body[5000..<6000]), at: 5000, model: "kws")
            }
            let resumed = try journal.begin(descriptor(body))
            #expect(resumed.receivedBytes == 1234)
            _ = try journal.append(Array(body[1234...]), at: 1234, model: "kws")
            #expect(try journal.complete(model: "kws") == body)
        }
    }

    @Test func outOfOrderAndPastEndAppendsAreRefused() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            _ = try journal.begin(descriptor(body))
            #expect(throws: TransferJournalError.outOfOrder("")) {
                try journal.append([1, 2, 3], at: 10, model: "kws")
            }
            _ = try journal.append(Array(body[0..<100]), at: 0, model: "kws")
            #expect(throws: TransferJournalError.outOfOrder("")) {
                try journal.append(Array(body[0..<100]), at: 0, model: "kws")
            }
            #expect(throws: TransferJournalError.pastEnd("")) {
                try journal.append(payload(body.count, seed: 1), at: 100, model: "kws")
            }
            #expect(journal.progress(model: "kws")?.receivedBytes == 100)
            #expect(throws: TransferJournalError.noTransfer("")) {
                try journal.append([1], at: 0, model: "other")
            }
            #expect(throws: TransferJournalError.incomplete("")) { try journal.complete(model: "kws") }
        }
    }

    @Test func wrongFinalDigestIsRefusedAndTheJournalDiscarded() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            var wrong = descriptor(body)
            wrong.payloadSHA256 = fakeDigest([0])
            _ = try journal.begin(wrong)
            _ = try journal.append(body, at: 0, model: "kws")
            #expect(throws: TransferJournalError.hashMismatch("")) { try journal.complete(model: "kws") }
            #expect(journal.progress(model: "kws") == nil)
        }
    }

    @Test func overLimitTransfersAreRefused() throws {
        try withDataDirectory { dir in
            let journal = journal(dir, limit: 1000)
            #expect(throws: TransferJournalError.tooLarge("")) { try journal.begin(descriptor(body)) }
            #expect(journal.allInProgress().isEmpty)
            #expect(TransferJournal.defaultMaximumTotalBytes == 512 * 1024 * 1024)
        }
    }

    @Test func aDifferentPayloadStartsAfresh() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            _ = try journal.begin(descriptor(body))
            _ = try journal.append(Array(body[0..<500]), at: 0, model: "kws")
            let other = payload(800, seed: 99)
            let fresh = try journal.begin(descriptor(other))
            #expect(fresh.receivedBytes == 0)
            #expect(fresh.descriptor.payloadSHA256 == fakeDigest(other))
            #expect(fileBytes("\(dir)/transfers/kws/payload.part") == [])
        }
    }

    @Test func stateFileHasTheDocumentedFields() throws {
        try withDataDirectory { dir in
            _ = try journal(dir).begin(descriptor(body))
            let data = try #require(FileManager.default.contents(atPath: "\(dir)/transfers/kws/state.json"))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(
                Set(object.keys) == [
                    "formatVersion", "model", "version", "variant", "encoding", "baseVersion", "payloadSHA256",
                    "totalBytes", "receivedBytes", "startedAt",
                ]
            )
            #expect(object["encoding"] as? String == "delta")
            #expect(object["startedAt"] as? String == "2025-06-15T15:06:40Z")
        }
    }

    @Test func malformedDescriptorsAndModelNamesAreRefused() throws {
        try withDataDirectory { dir in
            let journal = journal(dir)
            for name in ["../x", "", String(repeating: "a", count: 65), "a/b", "..", ".hidden"] {
                #expect(throws: TransferJournalError.invalidModelName("")) {
                    try journal.begin(descriptor(body, model: name))
                }
                #expect(throws: TransferJournalError.invalidModelName("")) {
                    try journal.append([1], at: 0, model: name)
                }
                #expect(journal.progress(model: name) == nil)
            }
            var noBase = descriptor(body)
            noBase.baseVersion = nil
            #expect(throws: TransferJournalError.invalidDescriptor("")) { try journal.begin(noBase) }
            var badDigest = descriptor(body)
            badDigest.payloadSHA256 = "xyz"
            #expect(throws: TransferJournalError.invalidDescriptor("")) { try journal.begin(badDigest) }
        }
    }
}
