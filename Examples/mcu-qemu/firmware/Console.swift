// The semihosting console and arguments (startup.c), shared by the leaf firmware and cycles/CyclesMain.swift.

@_extern(c, "put") func putC(_ line: UnsafeRawPointer)
/// Prints static text. Not a `String` parameter: a literal passed as `UnsafePointer<CChar>` builds a `String` and
/// its C copy on the heap at every call, and links about 7 KB of the standard library's String code.
func put(_ line: StaticString) { putC(line.utf8Start) }
@_extern(c, "put_u32") func putU32(_ value: UInt32)
@_extern(c, "host_argument") func hostArgument(
    _ index: Int32,
    _ into: UnsafeMutableRawPointer?,
    _ capacity: Int32
)
    -> Int32

/// The first row of the digits test split (Tests/FleetObserveTests/Fixtures/digits.csv, pixels 0...16), label 1.
let digitRow: [UInt8] = [
    0, 0, 0, 2, 16, 16, 2, 0, 0, 0, 0, 4, 16, 16, 2, 0, 0, 1, 4, 12, 16, 12, 0, 0, 0, 7, 16, 16, 16, 12, 0, 0,
    0, 0, 3, 10, 16, 14, 0, 0, 0, 0, 0, 8, 16, 12, 0, 0, 0, 0, 0, 6, 16, 16, 2, 0, 0, 0, 0, 2, 12, 15, 4, 0,
]
let digitLabel: UInt32 = 1
