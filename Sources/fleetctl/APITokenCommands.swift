import ArgumentParser
import FleetCommandLine
import FleetControl
import FleetWire

extension FleetCtl {
    struct APIToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "api-token",
            abstract: "Manage bearer tokens of the HTTP admin API (fleet-coordinator --http-listen).",
            subcommands: [Create.self, List.self, Revoke.self]
        )

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a bearer token (shown once: the coordinator keeps only its hash).",
                discussion: "Send it as `Authorization: Bearer TOKEN` to the endpoints under /api/v1/."
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions

            @Option(help: "read (the GET endpoints) or admin (everything).")
            var scope: String

            @Option(help: "Lifetime, e.g. 30d, 24h (default: never expires).")
            var expires: String?

            func validate() throws {
                guard APITokenScope(name: scope) != nil else {
                    throw ValidationError("--scope is read or admin, not \"\(scope)\"")
                }
            }

            func run() async throws {
                let token = try await target.inspector().createAPIToken(
                    scope: APITokenScope(name: scope) ?? .read,
                    expiresIn: try expires.map(CommandLineValues.duration)
                )
                try emit(token, json: output.json) { token in
                    """
                    \(token.token)
                    id \(token.id), scope \(token.scope), expires \(token.expiresAt ?? "never")
                    Use it with: curl -H "Authorization: Bearer \(token.token)" http://HOST:PORT/api/v1/devices
                    """
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List API tokens (ids, scopes, expiry, state; never the secrets)."
            )
            @OptionGroup var target: TargetOptions
            @OptionGroup var output: OutputOptions

            func run() async throws {
                try emit(try await target.inspector().apiTokens(), json: output.json) { tokens in
                    Table(
                        headers: ["ID", "SCOPE", "STATE", "EXPIRES", "CREATED"],
                        rows: tokens.map { [$0.id, $0.scope, $0.state, $0.expiresAt ?? "never", $0.createdAt] }
                    ).render()
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke an API token: requests with it get 401 from now on."
            )
            @OptionGroup var target: TargetOptions
            @Argument(help: "The token's id (a-…, from `fleetctl api-token list`).") var id: String

            func run() async throws {
                try await target.inspector().revokeAPIToken(id: id)
                print("revoked \(id): requests with it get 401 from now on")
            }
        }
    }
}
