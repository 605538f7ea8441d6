import ArgumentParser
import Foundation
import Logging

/// How a daemon writes its log to standard error: `text` (swift-log's own line format) or `json` (one JSON object a
/// line, for log shippers: Loki, Elasticsearch, journald's JSON input, `jq`).
public enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// The one place the daemons set up swift-log.
public enum LogOutput {
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// One JSON object a line on standard error, written with one `write` each so lines from several threads never
/// interleave. The fields are those of an event (`fleetctl events --json`): `at` (ISO 8601, UTC, milliseconds),
/// `level`, `label` (the component), `message`, then each metadata entry as its own field (`device`, `model`,
/// `error`, …). A metadata key that would overwrite one of these fields is written as `metadata.KEY`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Self.line(
            at: Date(),
            level: event.level,
            label: label,
            message: event.message.description,
            metadata: metadata.merging(metadataProvider?.get() ?? [:]) { $1 }.merging(event.metadata ?? [:]) { $1 }
        )
        FileHandle.standardError.write(Data(line.utf8))
    }

    static let reserved: Set<String> = ["at", "level", "label", "message"]

    /// The line for one log entry, newline included.
    static func line(
        at date: Date,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata
    ) -> String {
        var object: [String: Any] = [
            "at": date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "level": level.rawValue,
            "label": label,
            "message": message,
        ]
        for (key, value) in metadata {
            object[reserved.contains(key) ? "metadata." + key : key] = json(value)
        }
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: options) else {
            return "{\"level\":\"error\",\"message\":\"unencodable log entry\"}\n"
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let entries): entries.mapValues(json)
        }
    }
}
