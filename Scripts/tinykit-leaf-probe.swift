// The leaf session specialised for a platform and an installer that do nothing, so that Scripts/tinykit-leaf-size.sh
// can measure the protocol side of the kit (wire, session, the crypto it calls) for armv7em. Not part of the kit.
struct ProbePlatform: TinyPlatform {
    mutating func connect() -> Bool { true }
    mutating func disconnect() {}
    mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int { 0 }
    mutating func send(_ bytes: UnsafeRawBufferPointer) -> Bool { true }
    func monotonicMilliseconds() -> UInt64 { 0 }
    mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Bool { true }
    func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool { false }
    mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    var pageSize: Int { 4096 }
    var pageCount: Int { 64 }
    mutating func erasePage(_ page: Int) -> Bool { true }
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool { true }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool { true }
}
struct ProbeInstaller: TinyModelInstaller {
    func accepts(encoding: UInt8) -> Bool { true }
    mutating func begin(target: TinyInstalledModel, targetSize: Int, encoding: UInt8, totalBytes: Int) -> Bool { true }
    mutating func write(_ bytes: UnsafeRawBufferPointer) -> Bool { true }
    mutating func finish() -> TinyInstallOutcome { .installed }
}
@_cdecl("probe_leaf")
public func probeLeaf(_ r: UnsafeMutableRawPointer, _ s: UnsafeMutableRawPointer) -> Int32 {
    let settings = TinyLeafSettings(
        token: ("tft_x" as StaticString).tinyBytes,
        name: ("leaf" as StaticString).tinyBytes,
        software: ("fw" as StaticString).tinyBytes,
        ramBytes: 65536,
        flashBytes: 262144
    )
    guard
        var leaf = TinyLeaf(
            platform: ProbePlatform(),
            installer: ProbeInstaller(),
            settings: settings,
            receiveBuffer: UnsafeMutableRawBufferPointer(start: r, count: 2048),
            sendBuffer: UnsafeMutableRawBufferPointer(start: s, count: 1024)
        )
    else { return -1 }
    return leaf.poll() == .none ? 0 : 1
}
