import ArgumentParser
import FleetLearning
import FleetWire
import Foundation

/// What every simulated leaf shares.
struct SimulationOptions: Sendable {
    static let version = TinyFleetVersion.current
    var gatewayHost: String
    var gatewayPort: Int
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
            gateway's --leaf-listen address and retry until it listens. One line per leaf event on stdout.
            """,
        version: TinyFleetVersion.current
    )

    @Option(help: "The gateway's leaf address, HOST:PORT (fleet-agent --leaf-listen).")
    var gateway: String

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
        guard infer >= 0, infer <= 1_000_000 else { throw ValidationError("--infer must be 0 to 1000000") }
        guard infer == 0 || inferCSV != nil else { throw ValidationError("--infer needs --infer-csv FILE") }
        _ = try gatewayAddress()
    }

    /// `--gateway` as host and port (`[::1]:7421` for IPv6).
    func gatewayAddress() throws -> (host: String, port: Int) {
        guard let colon = gateway.lastIndex(of: ":"), let port = Int(gateway[gateway.index(after: colon)...]),
            port > 0, port < 65536, colon != gateway.startIndex
        else { throw ValidationError("--gateway must be HOST:PORT, e.g. 127.0.0.1:7421") }
        var host = String(gateway[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
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
