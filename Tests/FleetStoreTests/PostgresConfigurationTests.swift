import FleetStorePostgres
import Foundation
import Testing

@testable import FleetStore

@Suite("PostgreSQL URL, password and dialect")
struct PostgresConfigurationTests {
    @Test func aFullURLIsParsed() throws {
        let url = try PostgresDatabaseURL(parsing: "postgres://fleet@db.example.org:6543/tinyfleet")
        #expect(url.user == "fleet")
        #expect(url.host == "db.example.org")
        #expect(url.port == 6543)
        #expect(url.database == "tinyfleet")
        #expect(url.tls == .require)
    }

    @Test func portDefaultsTo5432AndLoopbackNeedsNoTLS() throws {
        let url = try PostgresDatabaseURL(parsing: "postgresql://fleet@127.0.0.1/fleet")
        #expect(url.port == 5432)
        #expect(url.tls == .disable)
        #expect(try PostgresDatabaseURL(parsing: "postgres://u@localhost/d?sslmode=require").tls == .require)
        #expect(try PostgresDatabaseURL(parsing: "postgres://u@[::1]:5433/d").host == "::1")
    }

    @Test func aPasswordInTheURLIsRefusedWithWhereToPutIt() {
        #expect(throws: PostgresConfigurationError.passwordInURL) {
            try PostgresDatabaseURL(parsing: "postgres://fleet:secret@db:5432/tinyfleet")
        }
        let message = PostgresConfigurationError.passwordInURL.description
        #expect(message.contains("--database-password-file"))
        #expect(message.contains("TINYFLEET_DATABASE_PASSWORD"))
        #expect(!message.contains("secret"))
    }

    @Test(arguments: [
        ("mysql://fleet@db/x", "scheme"),
        ("postgres://db:5432/x", "no user"),
        ("postgres://fleet@:5432/x", "no host"),
        ("postgres://fleet@db:70000/x", "port"),
        ("postgres://fleet@db:5432", "/DB"),
        ("postgres://fleet@db:5432/a/b", "/DB"),
        ("postgres://fleet@db/x?sslmode=verify-full", "sslmode"),
        ("postgres://fleet@db/x?application_name=y", "unsupported"),
        ("not a url at all", "expected postgres://"),
    ])
    func malformedURLsAreRefusedWithTheReason(text: String, reason: String) {
        do {
            _ = try PostgresDatabaseURL(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func passwordComesFromAPrivateFileFirstThenTheEnvironment() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path("password")
        FileManager.default.createFile(
            atPath: file,
            contents: Data("s3cret\n".utf8),
            attributes: [.posixPermissions: 0o600]
        )
        let environment = ["TINYFLEET_DATABASE_PASSWORD": "from-env"]
        #expect(try PostgresPassword.resolve(file: file, environment: environment) == "s3cret")
        #expect(try PostgresPassword.resolve(file: nil, environment: environment) == "from-env")
        #expect(try PostgresPassword.resolve(file: nil, environment: [:]) == nil)
    }

    @Test func aPasswordFileOthersCanReadOrAnEmptyOneIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let shared = directory.path("shared")
        FileManager.default.createFile(
            atPath: shared,
            contents: Data("pw".utf8),
            attributes: [.posixPermissions: 0o644]
        )
        #expect { try PostgresPassword.resolve(file: shared, environment: [:]) } throws: { error in
            "\(error)".contains("chmod 600")
        }
        let empty = directory.path("empty")
        FileManager.default.createFile(atPath: empty, contents: Data("\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect { try PostgresPassword.resolve(file: empty, environment: [:]) } throws: { error in
            "\(error)".contains("empty")
        }
        #expect { try PostgresPassword.resolve(file: directory.path("missing"), environment: [:]) } throws: { error in
            "\(error)".contains("cannot read")
        }
    }

    @Test func placeholdersAreNumberedForPostgresOutsideQuotes() {
        let sql = #"SELECT "a?" FROM "t" WHERE "x" = ? AND "y" = '?' AND "z" IN (?, ?)"#
        #expect(SQLDialect.sqlite.render(sql) == sql)
        #expect(
            SQLDialect.postgres.render(sql) == #"SELECT "a?" FROM "t" WHERE "x" = $1 AND "y" = '?' AND "z" IN ($2, $3)"#
        )
    }

    @Test func dialectSpellings() {
        #expect(SQLDialect.sqlite.greatest("a", "b") == "MAX(a, b)")
        #expect(SQLDialect.postgres.greatest("a", "b") == "GREATEST(a, b)")
        #expect(SQLDialect.postgres.bytesType == "BYTEA")
        #expect(
            SQLDialect.sqlite.insertIgnoringConflicts(into: "t", "(a) VALUES (?)")
                == #"INSERT OR IGNORE INTO "t" (a) VALUES (?)"#
        )
        #expect(
            SQLDialect.postgres.insertIgnoringConflicts(into: "t", "(a) VALUES (?)")
                == #"INSERT INTO "t" (a) VALUES (?) ON CONFLICT DO NOTHING"#
        )
    }
}
