import FleetLearning
import FleetModelIO
import Foundation
import Testing

/// A leaf written in C (`Examples/c-leaf/host-leaf.c`): FleetTinyKit compiled with Embedded Swift for the host and
/// linked with `cc` against `tinyfleet.h` alone, behind a real gateway (`fleet-agent --leaf-listen`) and coordinator.
/// It enrols, installs the digits model (v1 in full, v2 as a stream-mode delta), classifies the digits test split
/// with `tinyfleet_predict`, and authenticates with the same identity after a restart.
extension EndToEnd {
    @Suite(.serialized) struct CLeafTests {
        let leaves = GatewayLeavesTests()
        static let digits = McuQemuScript.root.appendingPathComponent("Tests/FleetObserveTests/Fixtures/digits.csv")
            .path
        /// Rows of the digits test split.
        static let testRows = 450

        /// Builds host-leaf (Examples/c-leaf/build.sh) and returns its absolute path.
        static func buildLeaf() async throws -> String {
            let (status, output) = try await McuQemuScript.run(path: "Examples/c-leaf/build.sh")
            try #require(status == 0, "Examples/c-leaf/build.sh failed: \(output)")
            let relative = try #require(output.split(separator: "\n").last.map(String.init))
            return McuQemuScript.root.appendingPathComponent(relative).path
        }

        /// The classes the host's inference (FleetModelIO + FleetLearning) gives the test split's rows with the
        /// published file of digits-mlp `version` int8, as one digit each.
        static func hostClasses(version: Int) throws -> String {
            let file = "\(GatewayLeavesTests.fixtures)/digits-mlp-v\(version)-int8.safetensors"
            let (mlp, _) = try ModelFile.mlp(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            let data = try CSVDatasetReader(featureScale: 1 / 16, classCount: 10).read(
                contentsOf: URL(fileURLWithPath: digits)
            )
            let test = try data.filter(column: "split", equals: "test")
            let rows = (0..<test.count).map { Array(test.row($0)) }
            return try mlp.predict(rows: rows).map { String($0.label) }.joined()
        }

        /// The classes the C leaf printed (`predicted classes: DIGITS`, `-` for a refused query) for its last
        /// `queries` queries of `version` (the `predicted classes` line, then a `refused` line per refusal code, then
        /// `classified`).
        static func leafClasses(_ log: String, version: Int, queries: Int = testRows) -> String? {
            let lines = log.split(separator: "\n")
            let marker = "classified \(queries) rows with digits-mlp v\(version) int8: "
            guard let index = lines.lastIndex(where: { $0.hasPrefix(marker) }),
                let classes = lines[..<index].last(where: { $0.hasPrefix("predicted classes: ") })
            else { return nil }
            return String(classes.dropFirst("predicted classes: ".count))
        }

        /// `correct` of the line `classified N rows with digits-mlp vV int8: C correct, R refused` (N: `queries`), nil
        /// until printed.
        static func correct(_ log: String, version: Int, queries: Int = testRows) -> (correct: Int, refused: Int)? {
            let prefix = "classified \(queries) rows with digits-mlp v\(version) int8: "
            guard let line = log.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else { return nil }
            let numbers = line.dropFirst(prefix.count).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
        }

        @Test func aLeafWrittenInCEnrolsInstallsTheDigitsModelThroughAGatewayAndClassifies() async throws {
            let program = try await Self.buildLeaf()
            let fleet = try Fleet("c-leaf")
            defer { fleet.cleanUp() }
            try await fleet.startCoordinator()
            let (gatewayID, leafPort) = try await leaves.startGateway(fleet)
            let token = try await fleet.createToken()
            let arguments = [
                "--gateway", "127.0.0.1:\(leafPort)", "--token", token.token, "--state-dir", fleet.root + "/c-leaf",
                "--name", "leaf-c", "--rows", Self.digits,
            ]
            var leaf = try FleetProcess(program, arguments, logDirectory: fleet.root, name: "c-leaf")
            let online = try await expectEventually(timeout: .seconds(60)) {
                let found = try await leaves.leaves(fleet)
                return found.count == 1 && found[0].status == "online" && found[0].gateway == gatewayID
            } message: {
                "the C leaf is online behind the gateway: \(leaf.log)"
            }
            try #require(online)
            let device = try #require(try await leaves.leaves(fleet).first)
            #expect(device.capabilities["class"] == "mcu" && device.capabilities["ram"] == "262144")
            #expect(leaf.log.contains("enrolled"), "\(leaf.log)")
            #expect(leaf.log.contains("leaf \(device.id) started"), "the C status gives the device id: \(leaf.log)")

            for version in [1, 2] {
                try await leaves.push(fleet, version: version, variant: "int8", minimumRAM: "64KiB")
                let installed = try await expectEventually(timeout: .seconds(90), every: .seconds(1)) {
                    try await leaves.leaves(fleet).first?.installedModels.contains {
                        $0.name == "digits-mlp" && $0.version == version && $0.variant == "int8"
                    } == true
                } message: {
                    "the C leaf reports digits-mlp v\(version) int8: \(leaf.log)"
                }
                try #require(installed)
                let classified = try await expectEventually(timeout: .seconds(30)) {
                    Self.correct(leaf.log, version: version) != nil
                } message: {
                    "the C leaf classified the test split with v\(version): \(leaf.log)"
                }
                try #require(classified)
                #expect(leaf.log.contains("installed digits-mlp v\(version) int8"), "\(leaf.log)")
                let outcome = try #require(Self.correct(leaf.log, version: version))
                // Row for row the classes of the host's float inference of the very file the coordinator published
                // (the kit's int8 inference matches it to 1e-5 in probability: InferenceTests).
                #expect(Self.leafClasses(leaf.log, version: version) == (try Self.hostClasses(version: version)))
                // The int8 digits models get about 95 % of the test split right; a leaf that read the model or the
                // rows wrongly gets about 10 %.
                #expect(outcome.correct >= Self.testRows * 85 / 100, "\(outcome.correct) of \(Self.testRows) correct")
                #expect(outcome.refused == 0, "nothing is metered: every query is answered")
            }
            let served = leaves.downloads(fleet, version: 2, variant: "int8", except: gatewayID)
            #expect(served.first?.contains("encoding=delta") == true, "v2 reached the leaf as a delta: \(served)")

            // A restart: the same identity authenticates, and the installed model is read back from the C flash.
            await leaf.terminate()
            #expect(leaf.process.terminationStatus == 0 && leaf.log.contains("stopped"), "a clean stop: \(leaf.log)")
            leaf = try FleetProcess(program, arguments, logDirectory: fleet.root, name: "c-leaf-again")
            let again = try await expectEventually(timeout: .seconds(60)) {
                leaf.log.contains("authenticated") && Self.correct(leaf.log, version: 2) != nil
            } message: {
                "the restarted C leaf authenticates and classifies with v2: \(leaf.log)"
            }
            #expect(again)
            #expect(leaf.log.contains("leaf \(device.id) started, model digits-mlp v2 int8"), "\(leaf.log)")
            #expect(try await leaves.leaves(fleet).count == 1, "one device: the restart kept its identity")
            await leaf.terminate()
            await fleet.stopAll()
        }
    }
}
