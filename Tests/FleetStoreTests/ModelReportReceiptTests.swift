import Foundation
import Testing

@testable import FleetStore

/// A model report the device sends again after a lost `ack` is recorded once: one delivery row, one event.
@Suite("Model report receipts")
struct ModelReportReceiptTests {
    private func transfer(_ device: String) -> NewTransfer {
        NewTransfer(
            deviceID: device,
            model: "digits",
            version: 2,
            variant: "fp32",
            encoding: "delta",
            baseVersion: nil,
            wireBytes: 15_596,
            fullBytes: 40_000,
            fileBytes: 52_000,
            startedAt: Dates.at(1),
            completedAt: Dates.at(1),
            resumedFrom: 0
        )
    }

    private func installed(_ device: String) -> NewEvent {
        NewEvent(at: Dates.at(1), deviceID: device, kind: "model_installed", detail: "digits v2 fp32")
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func aReportSentAgainIsRecordedOnce(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            let first = try await store.recordModelReport(
                deviceID: "dev-a",
                reportID: 1,
                transfer: transfer("dev-a"),
                event: installed("dev-a"),
                at: Dates.at(1)
            )
            let again = try await store.recordModelReport(
                deviceID: "dev-a",
                reportID: 1,
                transfer: transfer("dev-a"),
                event: installed("dev-a"),
                at: Dates.at(2)
            )
            // The same number from another device, and the next report of the first: both recorded.
            let otherDevice = try await store.recordModelReport(
                deviceID: "dev-b",
                reportID: 1,
                transfer: transfer("dev-b"),
                event: installed("dev-b"),
                at: Dates.at(3)
            )
            let next = try await store.recordModelReport(
                deviceID: "dev-a",
                reportID: 2,
                transfer: nil,
                event: NewEvent(at: Dates.at(4), deviceID: "dev-a", kind: "install_refused", detail: "rollback"),
                at: Dates.at(4)
            )
            #expect([first, again, otherDevice, next] == [true, false, true, true])
            #expect(try await store.transfers(deviceID: "dev-a", model: nil).count == 1)
            #expect(try await store.transfers(deviceID: "dev-b", model: nil).count == 1)
            let events = try await store.events(deviceID: "dev-a", limit: 100, afterSequence: nil)
            #expect(events.map(\.kind) == ["model_installed", "install_refused"])
        }
    }

    @Test(arguments: CoordinatorBackend.allCases)
    func reportIDZeroIsNeverDeduplicated(backend: CoordinatorBackend) async throws {
        try await withCoordinator(backend) { store in
            for second in 1...2 {
                let recorded = try await store.recordModelReport(
                    deviceID: "dev-a",
                    reportID: 0,
                    transfer: nil,
                    event: NewEvent(
                        at: Dates.at(Double(second)),
                        deviceID: "dev-a",
                        kind: "install_failed",
                        detail: ""
                    ),
                    at: Dates.at(Double(second))
                )
                #expect(recorded)
            }
            #expect(try await store.events(deviceID: "dev-a", limit: 100, afterSequence: nil).count == 2)
        }
    }
}
