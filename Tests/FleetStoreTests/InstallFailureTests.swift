import Foundation
import Testing

@testable import FleetStore

@Suite("Install failures from the event log")
struct InstallFailureTests {
    @Test(arguments: CoordinatorBackend.allCases)
    func failuresOfOneModelAreReadWithTheirVersionAndVariant(kind: CoordinatorBackend) async throws {
        try await withCoordinator(kind) { store in
            let events: [(String?, String, String)] = [
                ("dev-a", "install_failed", "digits v2 fp32: E_HASH: digest mismatch"),
                ("dev-b", "install_refused", "digits v10 int8: needs: ram 1 GiB"),
                ("dev-a", "install_failed", "digits-x v1 fp32: E_HASH: another model"),
                ("dev-a", "model_installed", "digits v2 fp32 (full, 10 bytes)"),
                (nil, "install_failed", "digits v3 fp32: fleet-wide is not a device's"),
                ("dev-c", "install_failed", "digits vX fp32: not a version"),
            ]
            for (index, (device, kind, detail)) in events.enumerated() {
                try await store.appendEvent(
                    NewEvent(at: Dates.at(Double(index)), deviceID: device, kind: kind, detail: detail)
                )
            }
            #expect(
                try await store.installFailures(model: "digits") == [
                    InstallFailure(deviceID: "dev-a", version: 2, variant: "fp32", kind: "install_failed"),
                    InstallFailure(deviceID: "dev-b", version: 10, variant: "int8", kind: "install_refused"),
                ]
            )
            #expect(try await store.installFailures(model: "digits-x").map(\.deviceID) == ["dev-a"])
            #expect(try await store.installFailures(model: "dig").isEmpty)
        }
    }
}
