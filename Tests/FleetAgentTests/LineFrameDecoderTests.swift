import NIOCore
import Testing

@testable import FleetAgent

/// The local socket's line splitter: lines in any pieces, CRLF, the length limit, and a scan that resumes where
/// the last one stopped (a line in n small reads costs n, not n²).
@Suite struct LineFrameDecoderTests {
    @Test func aLineArrivingByteByByteIsScannedOnce() throws {
        var decoder = LineFrameDecoder(maximumLength: 1 << 20)
        var buffer = ByteBuffer()
        let line = Array(repeating: UInt8(ascii: "x"), count: 10_000)
        for (index, byte) in line.enumerated() {
            buffer.writeInteger(byte)
            #expect(try decoder.decode(buffer: &buffer) == nil)
            // The next call starts after everything already searched.
            #expect(decoder.scanned == index + 1)
        }
        buffer.writeString("\r\nnext")
        #expect(try decoder.decode(buffer: &buffer) == ByteBuffer(bytes: line))
        #expect(decoder.scanned == 0)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        buffer.writeString("\n")
        #expect(try decoder.decode(buffer: &buffer) == ByteBuffer(string: "next"))
    }

    @Test func severalLinesInOneReadAndTheLimit() throws {
        var decoder = LineFrameDecoder(maximumLength: 4)
        var buffer = ByteBuffer(string: "ab\ncd\n")
        #expect(try decoder.decode(buffer: &buffer) == ByteBuffer(string: "ab"))
        #expect(try decoder.decode(buffer: &buffer) == ByteBuffer(string: "cd"))
        buffer.writeString("12345")
        #expect(throws: LineFrameDecoder.LineTooLong.self) { try decoder.decode(buffer: &buffer) }
    }
}
