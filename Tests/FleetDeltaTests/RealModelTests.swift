import Testing

@testable import FleetDelta

@Suite("Real model pairs")
struct RealModelTests {
    static let pairs: [(String, String)] = [
        ("digits-mlp-v1-fp32", "digits-mlp-v2-fp32"),
        ("digits-mlp-v2-fp32", "digits-mlp-v3-fp32"),
        ("digits-mlp-v1-int8", "digits-mlp-v2-int8"),
        ("digits-mlp-v2-int8", "digits-mlp-v3-int8"),
        ("digits-mlp-v1-fp32", "digits-mlp-v3-fp32"),
        ("digits-mlp-v1-int8", "digits-mlp-v3-int8"),
    ]

    @Test("round trips bit-exactly", arguments: pairs)
    func roundTrips(pair: (String, String)) throws {
        let old = try fixture(pair.0)
        let new = try fixture(pair.1)
        let (patch, stats) = try DeltaCodec.encodeWithStats(old: old, new: new)
        #expect(stats.mode == .tensor)
        #expect(try DeltaCodec.apply(old: old, patch: patch) == new)
        print("\(pair.0) -> \(pair.1): \(patch.count) bytes")
        for tensor in stats.tensors where tensor.method != .unchanged {
            print("  \(tensor.name) \(tensor.method.rawValue) \(tensor.bytes)")
        }
    }

    @Test("identical files cost only the fixed header and one bit per tensor")
    func identical() throws {
        let file = try fixture("digits-mlp-v2-int8")
        let patch = try roundTrip(file, file)
        #expect(patch.count < 40)
    }

    @Test("sparse int8 update is far below the generic delta")
    func smallerThanGeneric() throws {
        let old = try fixture("digits-mlp-v2-int8")
        let new = try fixture("digits-mlp-v3-int8")
        var generic = DeltaOptions()
        generic.tensorAware = false
        let genericPatch = try roundTrip(old, new, options: generic)
        let tensorPatch = try roundTrip(old, new)
        #expect(tensorPatch.count * 2 < genericPatch.count)
    }

    @Test("zlib-only tensor coding still round trips")
    func zlibOnly() throws {
        var options = DeltaOptions()
        options.allowEntropyModels = false
        try roundTrip(try fixture("digits-mlp-v1-fp32"), try fixture("digits-mlp-v2-fp32"), options: options)
    }
}
