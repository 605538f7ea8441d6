// The C entry points (include/tinyfleet.h) called as C calls them: a platform of C function pointers over a board
// in memory, the buffers the integrator sizes, and the result codes of what the kit cannot use.
import Testing

@testable import FleetTinyKit

/// A board in memory behind `tinyfleet_platform`'s function pointers (its context).
final class CBoard {
    var flash: [UInt8]
    var records: [UInt32: [UInt8]] = [:]
    var randomWorks = true
    var now: UInt64 = 1000

    init(pages: Int) { flash = [UInt8](repeating: 0xFF, count: pages * CBoard.pageSize) }

    static let pageSize = 4096

    static func of(_ context: UnsafeMutableRawPointer?) -> CBoard {
        Unmanaged<CBoard>.fromOpaque(context!).takeUnretainedValue()
    }

    /// The platform table over this board (the test keeps the board alive).
    func table() -> TinyCPlatformTable {
        TinyCPlatformTable(
            context: Unmanaged.passUnretained(self).toOpaque(),
            connect: { _ in false },
            disconnect: { _ in },
            receive: { _, _, _ in -1 },
            send: { _, _, _ in false },
            milliseconds: { CBoard.of($0).now },
            fillRandom: { context, buffer, count in
                guard CBoard.of(context).randomWorks else { return false }
                for index in 0..<Int(count) {
                    buffer!.storeBytes(of: UInt8.random(in: 0...255), toByteOffset: index, as: UInt8.self)
                }
                return true
            },
            loadRecord: { context, record, buffer, size in
                guard let bytes = CBoard.of(context).records[record], bytes.count == Int(size) else { return false }
                buffer!.copyMemory(from: bytes, byteCount: bytes.count)
                return true
            },
            storeRecord: { context, record, bytes, size in
                CBoard.of(context).records[record] = Array(UnsafeRawBufferPointer(start: bytes, count: Int(size)))
                return true
            },
            loadMeterRecord: nil,
            storeMeterRecord: nil,
            erasePage: { context, page in
                let board = CBoard.of(context)
                for index in 0..<CBoard.pageSize { board.flash[Int(page) * CBoard.pageSize + index] = 0xFF }
                return true
            },
            writeFlash: { context, offset, bytes, count in
                let board = CBoard.of(context)
                for index in 0..<Int(count) {
                    board.flash[Int(offset) + index] &= bytes!.load(fromByteOffset: index, as: UInt8.self)
                }
                return true
            },
            readFlash: { context, offset, buffer, count in
                let board = CBoard.of(context)
                board.flash.withUnsafeBytes {
                    buffer!.copyMemory(from: $0.baseAddress! + Int(offset), byteCount: Int(count))
                }
                return true
            },
            pageSize: UInt32(CBoard.pageSize),
            pageCount: UInt32(flash.count / CBoard.pageSize)
        )
    }
}

/// The integrator's memory for one leaf, sized from `tinyfleet_get_sizes`.
final class CLeafMemory {
    let sizes: TinyCSizes
    let leaf: UnsafeMutableRawBufferPointer
    let receive = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 + 16 * 1024, alignment: 8)
    let send = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
    let page = UnsafeMutableRawBufferPointer.allocate(byteCount: CBoard.pageSize, alignment: 8)
    /// The platform table: the kit reads it at every call, so it lives as long as the leaf (as a C static would).
    let table = UnsafeMutablePointer<TinyCPlatformTable>.allocate(capacity: 1)
    let token: [UInt8] = Array("tft_test\0".utf8)
    let software: [UInt8] = Array("c-test/1\0".utf8)

    init() {
        var sizes = TinyCSizes()
        tinyfleetGetSizes(0, UInt32(CBoard.pageSize), &sizes)
        self.sizes = sizes
        leaf = .allocate(byteCount: Int(sizes.leafBytes) + 16, alignment: Int(sizes.leafAlignment))
    }

    deinit {
        for buffer in [leaf, receive, send, page] { buffer.deallocate() }
        table.deallocate()
    }

    func buffers(leafOffset: Int = 0, receiveBytes: Int = 4 + 16 * 1024) -> TinyCBuffers {
        TinyCBuffers(
            leaf: leaf.baseAddress! + leafOffset,
            receive: receive.baseAddress,
            send: send.baseAddress,
            page: page.baseAddress,
            meter: nil,
            leafBytes: sizes.leafBytes,
            receiveBytes: UInt32(receiveBytes),
            sendBytes: UInt32(send.count),
            pageBytes: UInt32(page.count),
            meterBytes: 0
        )
    }

    /// `tinyfleet_start` with these settings and buffers; the result code and the leaf handle.
    func start(
        _ table: TinyCPlatformTable,
        _ buffers: TinyCBuffers,
        settings: ((inout TinyCSettings) -> Void)? = nil
    ) -> (Int32, UnsafeMutableRawPointer?) {
        self.table.initialize(to: table)
        var buffers = buffers
        return token.withUnsafeBufferPointer { token in
            software.withUnsafeBufferPointer { software in
                var values = TinyCSettings(
                    token: token.baseAddress,
                    name: nil,
                    software: software.baseAddress,
                    ramBytes: 256 * 1024,
                    flashBytes: 1 << 20,
                    reconnectMilliseconds: 0,
                    maximumReconnectMilliseconds: 0,
                    meterGrants: 0,
                    slotPages: 0
                )
                settings?(&values)
                var handle: UnsafeMutableRawPointer?
                let result = tinyfleetStart(self.table, &values, &buffers, &handle)
                return (result, handle)
            }
        }
    }
}

@Suite struct CInterfaceTests {
    @Test func startGivesACodeForEachArgumentItCannotUse() {
        let memory = CLeafMemory()
        let board = CBoard(pages: 10)
        var handle: UnsafeMutableRawPointer?
        #expect(tinyfleetStart(nil, nil, nil, &handle) == TinyCResult.invalidArgument.rawValue)
        var incomplete = board.table()
        incomplete.send = nil
        #expect(memory.start(incomplete, memory.buffers()).0 == TinyCResult.invalidArgument.rawValue)
        #expect(
            memory.start(board.table(), memory.buffers(receiveBytes: 1000)).0 == TinyCResult.bufferTooSmall.rawValue
        )
        #expect(memory.start(board.table(), memory.buffers(leafOffset: 4)).0 == TinyCResult.misaligned.rawValue)
        #expect(
            memory.start(board.table(), memory.buffers()) { $0.meterGrants = 2 }.0
                == TinyCResult.bufferTooSmall.rawValue,
            "a meter without its buffer"
        )
        #expect(
            memory.start(board.table(), memory.buffers()) { $0.slotPages = 5 }.0 == TinyCResult.flashLayout.rawValue
        )
        board.randomWorks = false
        #expect(memory.start(board.table(), memory.buffers()).0 == TinyCResult.noIdentity.rawValue)
        #expect(board.records.isEmpty, "nothing stored without an identity")
    }

    @Test func aStartedLeafReportsItsIdentityAndHasNoModelToRun() throws {
        let memory = CLeafMemory()
        let board = CBoard(pages: 10)
        let (result, started) = memory.start(board.table(), memory.buffers())
        #expect(result == TinyCResult.ok.rawValue)
        let handle = try #require(started)
        var status = TinyCStatus()
        tinyfleetGetStatus(handle, &status)
        let id = withUnsafeBytes(of: status.deviceID) { Array($0.prefix { $0 != 0 }) }
        #expect(String(decoding: id, as: UTF8.self).hasPrefix("d-") && id.count == 18)
        #expect(status.phase == 0 && status.enrolled == 0 && status.modelVersion == -1 && status.scratchFloats == 0)
        #expect(board.records[UInt32(TinyRecord.identitySeed.rawValue)]?.count == 32)

        var input = [Float](repeating: 0, count: 64)
        var scratch = [Float](repeating: 0, count: 600)
        var prediction = TinyCPrediction()
        #expect(
            tinyfleetPredict(handle, &input, 64, &scratch, 600, &prediction) == TinyCResult.noModel.rawValue
                && prediction.predictedClass == -1
        )
        var billing: Int32 = 7
        #expect(tinyfleetMeterInference(handle, &billing) == TinyCResult.ok.rawValue && billing == 0, "unmetered")
        // The link cannot connect: a poll reports nothing and leaves the leaf disconnected.
        var event = TinyCEvent()
        #expect(tinyfleetPoll(handle, &event) == 0 && event.kind == 0)
        tinyfleetRelease(handle)

        // The same board again: the same identity, read from its key storage.
        let (again, restarted) = memory.start(board.table(), memory.buffers())
        #expect(again == TinyCResult.ok.rawValue)
        let second = try #require(restarted)
        var secondStatus = TinyCStatus()
        tinyfleetGetStatus(second, &secondStatus)
        #expect(withUnsafeBytes(of: secondStatus.deviceID) { Array($0.prefix { $0 != 0 }) } == id)
        tinyfleetRelease(second)
    }
}
