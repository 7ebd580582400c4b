import Foundation
import HandoverDemo
import HandoverSQL
package import HandoverSQLite

/// What each table holds for subject `S`, written by hand against the demo schema.
public let ownedBySubject: [String: String] = [
    "users": "SELECT id FROM users WHERE id = ?1",
    "contacts": "SELECT id FROM contacts WHERE owner_id = ?1",
    "content_items": "SELECT id FROM content_items WHERE owner_id = ?1",
    "comments": """
    SELECT c.id FROM comments c JOIN content_items i ON i.id = c.content_id
    WHERE c.author_id = ?1 OR i.owner_id = ?1
    """,
    "coaching_feedback": """
    SELECT f.id FROM coaching_feedback f JOIN content_items i ON i.id = f.content_id
    WHERE f.coach_id = ?1 OR i.owner_id = ?1
    """,
    "activity_events": "SELECT id FROM activity_events WHERE user_id = ?1",
    "contact_form_submissions":
        "SELECT f.id FROM contact_form_submissions f JOIN users u ON u.email = f.email WHERE u.id = ?1",
]

/// Integers from a hand-written query.
package func query(_ path: String, _ sql: String, _ parameters: [SQLiteValue] = []) throws -> [Int64] {
    try SQLiteConnection.withConnection(path: path, mode: .readOnly) { connection in
        let statement = try connection.prepare(sql)
        try statement.bind(parameters)
        var values: [Int64] = []
        while try statement.step() {
            if case .integer(let value) = try statement.value(at: 0) { values.append(value) }
        }
        return values
    }
}

/// The demo database, created once per process in a temporary folder.
public let demoDatabase: String = {
    let path = NSTemporaryDirectory() + "/handover-sql-tests-\(getpid()).sqlite"
    try! SalesDemo.createDatabase(at: path)
    return path
}()
