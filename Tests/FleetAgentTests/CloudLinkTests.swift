import FleetWire
import Foundation
import NIOCore
import Testing

@testable import FleetAgent

/// An offloaded query whose connection closes under it is told so in the error codes the local socket documents
/// (`cloud-unavailable`, which `offload: auto` answers locally), never as an `internal` error.
@Suite struct CloudLinkTests {
    static func link(failingWith error: any Error) -> AgentLink {
        AgentLink(send: { _ in throw error }, nextRequestID: { 1 })
    }

    @Test func aConnectionClosedWhileSendingIsCloudUnavailable() async throws {
        let cloud = CloudLink()
        try await cloud.connected(Self.link(failingWith: ChannelError.ioOnClosedChannel))
        let error = await #expect(throws: LocalRequestError.self) {
            try await cloud.infer(model: "digits-mlp", rows: [[0, 1]])
        }
        #expect(error?.code == "cloud-unavailable")
        #expect(error?.message.contains("closed before the rows were sent") == true)
    }

    @Test func aFrameOverTheLimitIsRefusedNotRetried() async throws {
        let cloud = CloudLink()
        try await cloud.connected(
            Self.link(failingWith: FrameTooLarge(type: .offloadInfer, length: 2_000_000, maximum: 1_048_576))
        )
        let error = await #expect(throws: LocalRequestError.self) {
            try await cloud.infer(model: "digits-mlp", rows: [[0, 1]])
        }
        #expect(error?.code == "cloud-refused")
        #expect(error?.message.contains("--max-frame") == true)
    }

    @Test func withoutAConnectionTheCoordinatorIsOutOfReach() async throws {
        let error = await #expect(throws: LocalRequestError.self) {
            try await CloudLink().infer(model: "digits-mlp", rows: [[0, 1]])
        }
        #expect(error?.code == "cloud-unavailable")
    }
}
