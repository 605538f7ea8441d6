import ArgumentParser
import FleetClient
import FleetLearning
import FleetWire
import Foundation

/// What every simulated leaf shares.
struct SimulationOptions: Sendable {
    static let version = TinyFleetVersion.current
    var gatewayHost: String
    var gatewayPort: Int
    /// With `--serial`: the serial line's descriptor, which carries the one leaf instead of TCP.
    var serial: CInt?
    var token: String
    var stateDirectory: String
    var namePrefix: String
    var ramBytes: UInt64
    var flashBytes: UInt64
    /// Rows (model-space features) each leaf classifies once a model is installed, `inferCount` in all.
    var inferRows: [[Float]] = []
    var inferCount = 0
}

@main
struct FleetTinySim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet-tiny-sim",
        abstract: "Simulated microcontroller leaves (FleetTinyKit on the host) behind a gateway fleet-agent.",
        discussion: """
            Each leaf has its own Ed25519 identity, kept in STATE_DIR/leaf-N/, enrols with --token on its first \
            start (a token with --uses N covers N leaves) and authenticates afterwards. Leaves connect to the \
            gateway's --leaf-listen address and retry until it listens; or, with --serial, one leaf speaks over a \
            serial line to a gateway's --leaf-serial. One line per leaf event on stdout.
            """,
        version: TinyFleetVersion.current
    )

    @Option(help: "The gateway's leaf address, HOST:PORT (fleet-agent --leaf-listen).")
    var gateway: String?

    @Option(
        help: """
            Instead of --gateway: one leaf on the serial line at PATH (raw 8N1, 115200 baud), for a gateway's \
            --leaf-serial; `pty` makes a pseudo-terminal and prints `serial: /dev/pts/N`, the path to give the gateway.
            """
    )
    var serial: String?

    @Option(help: "Enrolment token for leaves that are not enrolled yet (fleetctl token create --uses N).")
    var token: String = ""

    @Option(help: "How many leaves to simulate.")
    var count: Int = 1

    @Option(help: "Directory for the leaves' identities and models (one subdirectory per leaf).")
    var stateDir: String = "fleet-tiny-sim-state"

    @Option(help: "Leaf names: PREFIX-0, PREFIX-1, …")
    var namePrefix: String = "leaf"

    @Option(help: "RAM each leaf reports, in bytes (capability ram).")
    var ram: UInt64 = 256 * 1024

    @Option(help: "Flash each leaf reports, in bytes (capabilities flash and storage).")
    var flash: UInt64 = 2 * 1024 * 1024

    @Option(
        help: """
            Once a model is installed (at start if one is), each leaf classifies N rows of --infer-csv, metered \
            (pay per query), and prints `inferences answered A refused R`.
            """
    )
    var infer: Int = 0

    @Option(help: "CSV of rows to classify (header, features, label column); rows are used in turn.")
    var inferCSV: String?

    @Option(help: "Factor applied to each feature of --infer-csv (the model's feature scale, e.g. 0.0625 for digits).")
    var featureScale: Float = 1

    func validate() throws {
        guard count >= 1, count <= 10_000 else { throw ValidationError("--count must be 1 to 10000") }
        guard (gateway == nil) != (serial == nil) else {
            throw ValidationError("pass --gateway HOST:PORT (TCP) or --serial PATH (a serial line), not both")
        }
        guard serial == nil || count == 1 else { throw ValidationError("--serial carries one leaf: --count 1") }
        if gateway != nil { _ = try gatewayAddress() }
        guard infer >= 0, infer <= 1_000_000 else { throw ValidationError("--infer must be 0 to 1000000") }
        guard infer == 0 || inferCSV != nil else { throw ValidationError("--infer needs --infer-csv FILE") }
    }

    /// `--gateway` as host and port (`[::1]:7421` for IPv6).
    func gatewayAddress() throws -> (host: String, port: Int) {
        guard let gateway else { return ("", 0) }
        guard let colon = gateway.lastIndex(of: ":"), let port = Int(gateway[gateway.index(after: colon)...]),
            port > 0, port < 65536, colon != gateway.startIndex
        else { throw ValidationError("--gateway must be HOST:PORT, e.g. 127.0.0.1:7421") }
        var host = String(gateway[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// The serial line's descriptor: a new pseudo-terminal for `pty` (its path printed for the gateway), else the
    /// device at `path`.
    static func openSerial(_ path: String) throws -> CInt {
        guard path == "pty" else { return try SerialPort.open(path: path, baud: 115200) }
        let terminal = try SerialPort.openPseudoTerminal()
        SimulatedLeaf.say("serial: \(terminal.path)")
        return terminal.descriptor
    }

    /// The rows of --infer-csv, scaled by --feature-scale.
    func inferRows() throws -> [[Float]] {
        guard infer > 0, let inferCSV else { return [] }
        let data = try CSVDatasetReader(featureScale: featureScale).read(contentsOf: URL(fileURLWithPath: inferCSV))
        guard !data.isEmpty else { throw ValidationError("--infer-csv \(inferCSV) has no rows") }
        return (0..<data.count).map { Array(data.row($0)) }
    }

    func run() async throws {
        let address = try gatewayAddress()
        let options = SimulationOptions(
            gatewayHost: address.host,
            gatewayPort: address.port,
            serial: try serial.map(Self.openSerial),
            token: token,
            stateDirectory: stateDir,
            namePrefix: namePrefix,
            ramBytes: ram,
            flashBytes: flash,
            inferRows: try inferRows(),
            inferCount: infer
        )
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let leaves = Task {
            await withDiscardingTaskGroup { group in
                for index in 0..<count {
                    group.addTask { await SimulatedLeaf(index: index, options: options).run() }
                }
            }
        }
        // SIGTERM or SIGINT: every leaf says goodbye and closes, then the program ends.
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler { leaves.cancel() }
            source.resume()
        }
        await leaves.value
        for source in sources { source.cancel() }
    }
}
