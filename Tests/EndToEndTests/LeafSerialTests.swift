import FleetClient
import FleetWire
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `fleet-agent --leaf-serial`: a leaf on a serial line (a pseudo-terminal standing in for a UART) behind a real
/// gateway and coordinator, and what the gateway does when the line carries garbage or the leaf starts over.
extension EndToEnd {
    @Suite(.serialized) struct LeafSerialTests {
        let leaves = GatewayLeavesTests()

        /// `fleet-tiny-sim --serial pty` makes a pseudo-terminal and prints its path: the gateway opens it as a UART.
        @Test func aLeafOnASerialLineEnrolsThroughTheGatewayAndInstallsAModel() async throws {
            let fleet = try Fleet("leaf-serial")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let leafToken = try await fleet.createToken()
            let sim = try FleetProcess(
                "fleet-tiny-sim",
                ["--serial", "pty", "--token", leafToken.token, "--state-dir", fleet.root + "/leaves"],
                logDirectory: fleet.root,
                name: "sim"
            )
            var path: String?
            _ = try await eventually(timeout: .seconds(20)) {
                path = sim.log.split(separator: "\n").first { $0.hasPrefix("serial: ") }.map { String($0.dropFirst(8)) }
                return path != nil
            }
            let line = try #require(path, "fleet-tiny-sim printed its pseudo-terminal: \(sim.log)")
            let gatewayToken = try await fleet.createToken()
            let agent = try fleet.startAgent(
                "gateway",
                token: gatewayToken.token,
                extra: ["--leaf-serial", line, "--baud", "115200"]
            )
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().contains("gateway") })
            let gatewayID = try #require(try await fleet.devices().first { $0.name == "gateway" }?.id)
            // The leaf's first hello may be lost (the gateway drops what a line held before it opened it): the leaf
            // says hello again after its 15 s silence limit.
            let online = try await eventually(timeout: .seconds(90)) {
                let found = try await leaves.leaves(fleet)
                return found.count == 1 && found[0].status == "online" && found[0].gateway == gatewayID
            }
            #expect(online, "the leaf is online behind the gateway: \(sim.log)\n\(agent.log)")
            #expect(sim.log.contains("enrolled"))

            try await leaves.push(fleet, version: 1, variant: "int8", minimumRAM: "64KiB")
            let installed = try await eventually(timeout: .seconds(90), every: .seconds(1)) {
                try await leaves.leaves(fleet).first?.installedModels.contains {
                    $0.name == "digits-mlp" && $0.version == 1 && $0.variant == "int8"
                } == true
            }
            #expect(installed, "the leaf reports digits-mlp v1 int8: \(sim.log)")
            let published = try Data(
                contentsOf: URL(fileURLWithPath: "\(GatewayLeavesTests.fixtures)/digits-mlp-v1-int8.safetensors")
            )
            let stored = FileManager.default.contents(atPath: "\(fleet.root)/leaves/leaf-0/model.safetensors")
            #expect(stored == published, "the leaf checked and stored the published file")
            await sim.terminate()
            await fleet.stopAll()
        }

        /// The test holds the pseudo-terminal and speaks for the leaf: garbage on the line gets the leaf an error
        /// telling it to start over (101), a frame before any hello gets 104, a hello in the middle of a session
        /// starts a new session (a new nonce), as a leaf that reset would, and the end of the coordinator connection
        /// reaches the leaf as an error.
        @Test func theGatewayResynchronisesAfterGarbageAndALeafThatStartsOver() async throws {
            let fleet = try Fleet("leaf-serial-sync")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let terminal = try SerialPort.openPseudoTerminal()
            defer { close(terminal.descriptor) }
            let gatewayToken = try await fleet.createToken()
            let agent = try fleet.startAgent(
                "gateway",
                token: gatewayToken.token,
                extra: ["--leaf-serial", terminal.path]
            )
            #expect(try await eventually(timeout: .seconds(30)) { try await fleet.onlineNames().contains("gateway") })
            var leaf = PseudoTerminalLeaf(descriptor: terminal.descriptor)
            // The gateway opens the line when it starts: wait until a hello is answered.
            var accepted: HelloAccept?
            for _ in 0..<30 where accepted == nil {
                leaf.send(RawClients.hello())
                if case .helloAccept(let accept) = await leaf.next(within: .seconds(1)) { accepted = accept }
            }
            let first = try #require(accepted, "the gateway relays hello: \(agent.log)")
            // Answers to earlier hellos that were still on their way.
            while await leaf.next(within: .milliseconds(1500)) != nil {}

            // A leaf that resets says hello again in the middle of its session: a new session, a new nonce.
            leaf.send(RawClients.hello())
            guard case .helloAccept(let second) = await leaf.next(within: .seconds(10)) else {
                Issue.record("a second hello starts a new session: \(agent.log)")
                return
            }
            #expect(second.nonce != first.nonce)

            // Garbage: a length over the limit. The gateway drops the session and says so, then frames again once
            // the line has been quiet.
            var garbage = ByteBuffer()
            garbage.writeInteger(UInt32(0x7fff_ffff))
            garbage.writeBytes(Array(repeating: 0xAA, count: 100))
            leaf.send(garbage)
            guard case .error(let lost) = await leaf.next(within: .seconds(10)) else {
                Issue.record("garbage on the line is answered with an error: \(agent.log)")
                return
            }
            #expect(lost.code == .malformedMessage && lost.requestID == 0, "\(lost)")
            try await Task.sleep(for: .seconds(1))
            leaf.send(Message.heartbeat.encodedFrame())
            guard case .error(let noSession) = await leaf.next(within: .seconds(10)) else {
                Issue.record("a frame outside a session is answered with an error: \(agent.log)")
                return
            }
            #expect(noSession.code == .unexpectedMessage, "\(noSession)")
            leaf.send(RawClients.hello())
            guard case .helloAccept = await leaf.next(within: .seconds(10)) else {
                Issue.record("after resynchronising, hello starts a session: \(agent.log)")
                return
            }
            // The coordinator goes away: a line does not close, so the leaf is told with an error (request id 0).
            await fleet.coordinator?.terminate()
            guard case .error(let gone) = await leaf.next(within: .seconds(20)) else {
                Issue.record("the end of the coordinator connection reaches the leaf: \(agent.log)")
                return
            }
            #expect(gone.requestID == 0, "\(gone)")
            await fleet.stopAll()
        }

        /// `fleet-tiny-sim --serial PATH` opens an existing serial device: here the terminal side of a
        /// pseudo-terminal whose other side the test reads, where the leaf's hello arrives.
        @Test func theSimulatorSpeaksOnASerialDeviceItIsGiven() async throws {
            let directory = try makeTemporaryDirectory("leaf-serial-sim")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let terminal = try SerialPort.openPseudoTerminal()
            defer { close(terminal.descriptor) }
            let sim = try FleetProcess(
                "fleet-tiny-sim",
                ["--serial", terminal.path, "--token", "tft_unused", "--state-dir", directory + "/leaves"],
                logDirectory: directory,
                name: "sim"
            )
            var line = PseudoTerminalLeaf(descriptor: terminal.descriptor)
            let first = await line.next(within: .seconds(20))
            guard case .hello(let hello) = first else {
                Issue.record("the leaf's hello arrives on the line: \(String(describing: first)) \(sim.log)")
                return
            }
            #expect(hello.role == .device)
            await sim.terminate()
        }

        /// A wrong --leaf-serial stops the agent at once with the path and what to do.
        @Test func aDeviceThatIsMissingOrNotASerialLineIsAClearError() async throws {
            let directory = try makeTemporaryDirectory("leaf-serial-errors")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let regular = directory + "/not-a-tty"
            _ = FileManager.default.createFile(atPath: regular, contents: Data("x".utf8))
            let cases = [
                ("\(directory)/ttyUSB9", "no serial device at \(directory)/ttyUSB9: check that the UART"),
                (regular, "\(regular) is not a serial device (a tty): pass the UART's device"),
                ("/dev/null", "/dev/null is not a serial device (a tty)"),
            ]
            for (path, expected) in cases {
                let result = try await runCommand(
                    "fleet-agent",
                    [
                        "--data-dir", directory + "/agent", "--coordinator", "127.0.0.1:9", "--leaf-serial", path,
                    ]
                )
                #expect(result.status != 0)
                #expect(result.stderr.contains(expected), "\(path): \(result.stderr)")
            }
            let baud = try await runCommand(
                "fleet-agent",
                ["--data-dir", directory + "/agent", "--coordinator", "127.0.0.1:9", "--leaf-serial", "/dev/null"]
                    + ["--baud", "12345"]
            )
            #expect(baud.status != 0 && baud.stderr.contains("baud rate 12345 is not supported"), "\(baud.stderr)")
        }

        /// A serial device the agent's user may not open: the error names it and says how to get access. As root the
        /// agent runs as `nobody` (setpriv) on a pseudo-terminal of mode 0600; otherwise on a file of mode 0000.
        @Test func aDeviceTheAgentMayNotOpenIsAClearError() throws {
            let directory = try makeTemporaryDirectory("leaf-serial-denied")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let process = Process()
            var path: String
            var terminal: CInt = -1
            defer { if terminal >= 0 { close(terminal) } }
            if getuid() == 0 {
                let pseudo = try SerialPort.openPseudoTerminal()
                terminal = pseudo.descriptor
                path = pseudo.path
                chmod(path, 0o600)
                process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
                process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Binaries.path("fleet-agent")]
            } else {
                path = directory + "/ttyLocked"
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                chmod(path, 0)
                process.executableURL = URL(fileURLWithPath: Binaries.path("fleet-agent"))
                process.arguments = []
            }
            process.arguments! += [
                "--data-dir", "/tmp/leaf-serial-denied-\(getpid())", "--coordinator", "127.0.0.1:9", "--leaf-serial",
                path,
            ]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            #expect(
                stderr.contains("permission denied opening \(path): run the agent as a user allowed to use it"),
                "\(stderr)"
            )
        }
    }
}

/// The controlling side of a pseudo-terminal, speaking frames as a leaf would on a UART (or reading them as a
/// gateway would).
struct PseudoTerminalLeaf {
    let descriptor: CInt
    private var received = ByteBuffer()

    init(descriptor: CInt) { self.descriptor = descriptor }

    func send(_ frame: ByteBuffer) {
        let bytes = Array(frame.readableBytesView)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count > 0 { sent += count } else { usleep(1000) }
        }
    }

    /// The next message the gateway sends (heartbeat acknowledgements skipped), or nil after `within`.
    mutating func next(within: Duration) async -> Message? {
        let deadline = ContinuousClock.now + within
        var chunk = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var decoder = FrameDecoder(maximumFrameLength: 1 << 20)
            var rest = received
            if let frame = try? decoder.decode(buffer: &rest) {
                received = rest
                guard let message = try? Message(frame: frame) else { return nil }
                if message == .heartbeatAck { continue }
                return message
            }
            let count = read(descriptor, &chunk, chunk.count)
            if count > 0 {
                received.writeBytes(chunk[0..<count])
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return nil
    }
}
