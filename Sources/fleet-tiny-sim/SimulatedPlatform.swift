import FleetTinyKit
import FleetTrust
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// FleetTinyKit's platform interface on the host, for one simulated leaf: TCP to the gateway (or a serial line,
/// which stays open: "connecting" drops what arrived before, as a UART's receiver is flushed), the monotonic clock,
/// the system's random bytes, records (meter records too) as files of mode 0600 in the leaf's directory, and a flash file
/// (``SimulatedFlash``).
struct SimulatedPlatform: TinyPlatform {
    let gatewayHost: String
    let gatewayPort: Int
    /// The serial line's descriptor, when the leaf speaks over one instead of TCP.
    let serial: CInt?
    /// The leaf's own directory in the state directory.
    let directory: String
    var flash: SimulatedFlash
    private var socket: Int32 = -1
    /// Whether the last ``receive(into:)`` got bytes (the driver polls again at once when it did).
    private(set) var lastReceiveGotBytes = false

    init(gatewayHost: String, gatewayPort: Int, serial: CInt?, directory: String, flashSize: Int) {
        self.gatewayHost = gatewayHost
        self.gatewayPort = gatewayPort
        self.serial = serial
        self.directory = directory
        self.flash = SimulatedFlash(path: directory + "/flash", size: flashSize)
    }

    // MARK: TinyTransport

    mutating func connect() -> Bool {
        disconnect()
        if let serial {
            // Whatever is still on the line belongs to the session the leaf gave up.
            var stale = [UInt8](repeating: 0, count: 4096)
            while Glibc.read(serial, &stale, stale.count) > 0 {}
            socket = serial
            return true
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(gatewayHost, String(gatewayPort), &hints, &result) == 0, let first = result else {
            return false
        }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let descriptor = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, 0)
            if descriptor >= 0 {
                if Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    socket = descriptor
                    return true
                }
                close(descriptor)
            }
            entry = address.pointee.ai_next
        }
        return false
    }

    mutating func disconnect() {
        if socket >= 0, serial == nil { close(socket) }
        socket = -1
    }

    mutating func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard socket >= 0 else { return -1 }
        let count =
            serial == nil
            ? recv(socket, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            : Glibc.read(socket, buffer.baseAddress, buffer.count)
        // A serial line never closes: no bytes (or no gateway on the pseudo-terminal's other side yet, EIO) is quiet.
        if serial != nil, count <= 0 {
            lastReceiveGotBytes = false
            return 0
        }
        if count > 0 {
            lastReceiveGotBytes = true
            return count
        }
        lastReceiveGotBytes = false
        if count == 0 { return -1 }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1
    }

    mutating func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard socket >= 0, let base = bytes.baseAddress else { return socket >= 0 && bytes.isEmpty }
        var sent = 0
        var waits = 0
        while sent < bytes.count {
            let count =
                serial == nil
                ? Glibc.send(socket, base + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                : Glibc.write(socket, base + sent, bytes.count - sent)
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN && serial != nil && waits < 2000 {
                // The line's buffer is full (the other side reads slower, or nobody reads): wait for it, up to 2 s.
                waits += 1
                usleep(1000)
                continue
            }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    // MARK: TinyClock, TinyRandom

    func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    mutating func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        var generator = SystemRandomNumberGenerator()
        for index in 0..<buffer.count { buffer[index] = generator.next() }
        return true
    }

    // MARK: TinyKeyStorage

    func loadRecord(_ record: TinyRecord, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let bytes = try? SecretFile.load(path: path(record), size: record.size, holding: "a leaf record"),
            bytes.count == buffer.count
        else { return false }
        buffer.copyBytes(from: bytes)
        return true
    }

    mutating func storeRecord(_ record: TinyRecord, _ bytes: UnsafeRawBufferPointer) -> Bool {
        (try? SecretFile.replace(Array(bytes), at: path(record))) != nil
    }

    func loadMeterRecord(_ index: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard
            let bytes = try? SecretFile.load(
                path: "\(directory)/meter-\(index)",
                size: buffer.count,
                holding: "a leaf meter record"
            ),
            bytes.count == buffer.count
        else { return false }
        buffer.copyBytes(from: bytes)
        return true
    }

    mutating func storeMeterRecord(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        (try? SecretFile.replace(Array(bytes), at: "\(directory)/meter-\(index)")) != nil
    }

    private func path(_ record: TinyRecord) -> String {
        "\(directory)/\(record)"
    }

    // MARK: TinyFlash (``SimulatedFlash``)

    var pageSize: Int { flash.pageSize }
    var pageCount: Int { flash.pageCount }
    mutating func erasePage(_ page: Int) -> Bool { flash.erasePage(page) }
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool { flash.write(at: offset, bytes) }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        flash.read(at: offset, into: buffer)
    }
}

/// The leaf's flash as a file of the flash's size in its directory (created on first write; erased bytes read
/// 0xFF). Each call opens the file, so the installer's copy and the platform's see the same bytes.
struct SimulatedFlash: TinyFlash {
    let path: String
    let size: Int

    var pageSize: Int { 4096 }
    var pageCount: Int { size / pageSize }

    mutating func erasePage(_ page: Int) -> Bool {
        guard page >= 0, page < pageCount else { return false }
        return write(at: page * pageSize, [UInt8](repeating: 0xFF, count: pageSize))
    }

    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        write(at: offset, Array(bytes))
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard offset >= 0, offset + buffer.count <= size else { return false }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            for index in 0..<buffer.count { buffer[index] = 0xFF }
            return true
        }
        defer { close(descriptor) }
        let count = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
        guard count >= 0 else { return false }
        for index in count..<buffer.count { buffer[index] = 0xFF }
        return true
    }

    private func write(at offset: Int, _ bytes: [UInt8]) -> Bool {
        guard offset >= 0, offset + bytes.count <= size else { return false }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        // A file that is new reads 0xFF everywhere, like erased flash.
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_size < size {
            let fill = [UInt8](repeating: 0xFF, count: size - Int(info.st_size))
            _ = fill.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(info.st_size)) }
        }
        return bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) } == bytes.count
    }
}
