import ArgumentParser

/// Reads `fleetctl --data-dir D devices` as `git -C DIR` and `kubectl --context` do: the options every command
/// shares may come before the command, and are moved after it, where ArgumentParser looks for them. A word in
/// the command's place that names no command is reported as an unknown command (not as an unknown option).
enum ArgumentOrder {
    /// The shared options that take a value (`TargetOptions`).
    static let valueOptions: Set<String> = [
        "--data-dir", "--coordinator", "--admin-key", "--ca-file", "--tls-server-name",
    ]
    /// The shared flags (`OutputOptions`).
    static let flags: Set<String> = ["--json"]

    static func arrange(_ arguments: [String], root: any ParsableCommand.Type) throws -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = String(argument.prefix { $0 != "=" })
            if valueOptions.contains(name) {
                let count = argument.contains("=") ? 1 : 2
                leading.append(contentsOf: arguments[index..<min(index + count, arguments.count)])
                index += count
            } else if flags.contains(argument) {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        var path: [String] = []
        var subcommands = root.configuration.subcommands
        var hasDefault = root.configuration.defaultSubcommand != nil
        while index < arguments.count, !arguments[index].hasPrefix("-"), !subcommands.isEmpty {
            let word = arguments[index]
            if word == "help" { break }
            guard let next = subcommands.first(where: { $0._commandName == word }) else {
                // A group with a default command takes the word as that command's argument.
                if hasDefault { break }
                let context = ([root._commandName] + path).joined(separator: " ")
                let names = subcommands.map { $0._commandName }.joined(separator: ", ")
                throw ValidationError(
                    "unknown command \"\(word)\": `\(context)` has \(names) (`\(context) --help` describes them)"
                )
            }
            path.append(word)
            subcommands = next.configuration.subcommands
            hasDefault = next.configuration.defaultSubcommand != nil
            index += 1
        }
        let rest = index < arguments.count ? Array(arguments[index...]) : []
        return path + leading + rest
    }
}
