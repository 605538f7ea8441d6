import FleetFuzzing

// C entry points for the executables' LLVMFuzzerTestOneInput (C, so that libFuzzer's own main() links:
// SwiftPM renames a Swift executable's entry point on Linux; see ../README.md).

@_cdecl("fleet_fuzz_wire")
public func fleetFuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntries.wire(bytes(data, size))
    return 0
}

@_cdecl("fleet_fuzz_safetensors")
public func fleetFuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntries.safeTensors(bytes(data, size))
    return 0
}

@_cdecl("fleet_fuzz_delta")
public func fleetFuzzDelta(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntries.delta(bytes(data, size))
    return 0
}

private func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
