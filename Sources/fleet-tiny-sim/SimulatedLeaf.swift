import FleetTinyKit
import FleetTrust
import Foundation

/// One simulated leaf: FleetTinyKit's ``TinyLeaf`` on the host, polled in its own task. Its identity and installed
/// model live in `STATE_DIR/leaf-N/`, so a restart authenticates instead of enrolling again.
struct SimulatedLeaf: Sendable {
    let index: Int
    let options: SimulationOptions

    /// The frame buffer's size: frames up to 16 KiB (the gateway sends chunks that fit).
    static let receiveBufferSize = 4 + 16 * 1024
    static let sendBufferSize = 2048
    /// Grant slots of each leaf's meter (TinyLeafMeter).
    static let meterGrants = 8

    func run() async {
        let directory = "\(options.stateDirectory)/leaf-\(index)"
        let name = "\(options.namePrefix)-\(index)"
        do {
            try PrivateFiles.prepareDirectory(directory)
        } catch {
            Self.say("\(name): cannot use \(directory): \(error)")
            return
        }
        // The kit keeps pointers to its settings' bytes and to its buffers for the leaf's whole life.
        let token = Self.persistent(Array(options.token.utf8))
        let nameBytes = Self.persistent(Array(name.utf8))
        let software = Self.persistent(Array("fleet-tiny-sim/\(SimulationOptions.version)".utf8))
        let receive = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.receiveBufferSize, alignment: 8)
        let meterBuffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: TinyLeafMeter.bufferSize(grants: Self.meterGrants),
            alignment: 8
        )
        let send = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.sendBufferSize, alignment: 8)
        defer {
            for buffer in [token, nameBytes, software, receive, meterBuffer] { buffer.deallocate() }
            send.deallocate()
        }
        let platform = SimulatedPlatform(
            gatewayHost: options.gatewayHost,
            gatewayPort: options.gatewayPort,
            serial: options.serial,
            directory: directory,
            flashSize: Int(options.flashBytes)
        )
        // The kit's A/B flash installer over the leaf's flash file: two record pages, then two equal slots.
        guard let store = TinySlotStore(flash: platform.flash, slotPages: (platform.flash.pageCount - 2) / 2) else {
            Self.say("\(name): --flash \(options.flashBytes) is too small for two model slots")
            return
        }
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: platform.flash.pageSize, alignment: 8)
        defer { page.deallocate() }
        let installer = TinyFlashModelInstaller(flash: platform.flash, store: store, pageBuffer: page)
        let settings = TinyLeafSettings(
            token: UnsafeRawBufferPointer(token),
            name: UnsafeRawBufferPointer(nameBytes),
            software: UnsafeRawBufferPointer(software),
            ramBytes: options.ramBytes,
            flashBytes: options.flashBytes
        )
        guard
            var leaf = TinyLeaf(
                platform: platform,
                installer: installer,
                settings: settings,
                receiveBuffer: receive,
                sendBuffer: send,
                meter: TinyLeafMeter(buffer: meterBuffer, grants: Self.meterGrants)
            )
        else {
            Self.say("\(name): no identity (random bytes or key storage failed in \(directory))")
            return
        }
        let id = leaf.withDeviceID { String(decoding: $0, as: UTF8.self) }
        var inferencesDone = options.inferCount == 0
        while !Task.isCancelled {
            let event = leaf.poll()
            if case .installed = event { Self.export(leaf.installer, to: "\(directory)/model.safetensors") }
            if let line = Self.describe(event, leaf) { Self.say("\(name) \(id) \(line)") }
            // Once online with a model installed and every grant received: the queries, metered.
            if !inferencesDone, leaf.phase == .online, !leaf.installed.isEmpty, leaf.quotaSynced {
                inferencesDone = true
                Self.say(
                    "\(name) \(id) \(SimulatedInference.run(&leaf, rows: options.inferRows, count: options.inferCount))"
                )
            }
            if leaf.platform.lastReceiveGotBytes {
                await Task.yield()
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        leaf.stop()
    }

    private static func describe<P, I>(_ event: TinyLeafEvent, _ leaf: TinyLeaf<P, I>) -> String? {
        switch event {
        case .none, .connected: nil
        case .welcomed(let enrolled): enrolled ? "enrolled" : "authenticated"
        case .installed(let version):
            "installed "
                + leaf.installed.withFields { name, variant, _ in
                    "\(String(decoding: name, as: UTF8.self)) v\(version) \(String(decoding: variant, as: UTF8.self))"
                }
        case .refused(let version, let code): "refused v\(version): \(code)"
        case .coordinatorError(let code): "coordinator error \(code)"
        case .disconnected: "disconnected"
        }
    }

    /// Copies the active slot's model out of the flash file, for people and tests to read (a microcontroller
    /// runs it from flash).
    private static func export(_ installer: TinyFlashModelInstaller<SimulatedFlash>, to path: String) {
        guard let record = installer.store.active(installer.flash) else { return }
        var bytes = [UInt8](repeating: 0, count: record.length)
        let read = bytes.withUnsafeMutableBytes {
            installer.flash.read(at: installer.store.offset(ofSlot: record.slot), into: $0)
        }
        guard read else { return }
        try? Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// One line on stdout, written at once (a test or a pipe reads it while the leaves run).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private static func persistent(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        buffer.copyBytes(from: bytes)
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }
}
