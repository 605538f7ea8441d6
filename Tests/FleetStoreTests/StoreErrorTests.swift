import Testing

@testable import FleetStore

@Suite("StoreError")
struct StoreErrorTests {
    @Test
    func equalityComparesCodesNotMessages() {
        #expect(StoreError.notFound("/a") == StoreError.notFound)
        #expect(StoreError.notFound("/a") != StoreError.io)
        #expect(StoreError.tokenExpired.with("token t1") == .tokenExpired)
        #expect(StoreError.notFound("/var/db").description.contains("/var/db"))
    }
}
